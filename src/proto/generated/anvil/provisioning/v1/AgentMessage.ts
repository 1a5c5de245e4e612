// Original file: src/proto/provisioning.proto

import type { HelloInput as _anvil_provisioning_v1_HelloInput, Hello as _anvil_provisioning_v1_Hello } from '../../../anvil/provisioning/v1/Hello.ts';
import type { HardwareReportInput as _anvil_provisioning_v1_HardwareReportInput, HardwareReport as _anvil_provisioning_v1_HardwareReport } from '../../../anvil/provisioning/v1/HardwareReport.ts';
import type { TaskProgressInput as _anvil_provisioning_v1_TaskProgressInput, TaskProgress as _anvil_provisioning_v1_TaskProgress } from '../../../anvil/provisioning/v1/TaskProgress.ts';
import type { TaskResultInput as _anvil_provisioning_v1_TaskResultInput, TaskResult as _anvil_provisioning_v1_TaskResult } from '../../../anvil/provisioning/v1/TaskResult.ts';

export interface AgentMessageInput {
  'hello'?: (_anvil_provisioning_v1_HelloInput | null);
  'hardware'?: (_anvil_provisioning_v1_HardwareReportInput | null);
  'progress'?: (_anvil_provisioning_v1_TaskProgressInput | null);
  'result'?: (_anvil_provisioning_v1_TaskResultInput | null);
  'body'?: "hello"|"hardware"|"progress"|"result";
}

export interface AgentMessage {
  'hello'?: (_anvil_provisioning_v1_Hello | null);
  'hardware'?: (_anvil_provisioning_v1_HardwareReport | null);
  'progress'?: (_anvil_provisioning_v1_TaskProgress | null);
  'result'?: (_anvil_provisioning_v1_TaskResult | null);
  'body'?: "hello"|"hardware"|"progress"|"result";
}
