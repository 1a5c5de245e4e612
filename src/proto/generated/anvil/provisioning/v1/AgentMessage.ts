// Original file: src/proto/provisioning.proto

import type { Hello as _anvil_provisioning_v1_Hello, Hello__Output as _anvil_provisioning_v1_Hello__Output } from '../../../anvil/provisioning/v1/Hello.ts';
import type { HardwareReport as _anvil_provisioning_v1_HardwareReport, HardwareReport__Output as _anvil_provisioning_v1_HardwareReport__Output } from '../../../anvil/provisioning/v1/HardwareReport.ts';
import type { TaskProgress as _anvil_provisioning_v1_TaskProgress, TaskProgress__Output as _anvil_provisioning_v1_TaskProgress__Output } from '../../../anvil/provisioning/v1/TaskProgress.ts';
import type { TaskResult as _anvil_provisioning_v1_TaskResult, TaskResult__Output as _anvil_provisioning_v1_TaskResult__Output } from '../../../anvil/provisioning/v1/TaskResult.ts';

export interface AgentMessage {
  'hello'?: (_anvil_provisioning_v1_Hello | null);
  'hardware'?: (_anvil_provisioning_v1_HardwareReport | null);
  'progress'?: (_anvil_provisioning_v1_TaskProgress | null);
  'result'?: (_anvil_provisioning_v1_TaskResult | null);
  'body'?: "hello"|"hardware"|"progress"|"result";
}

export interface AgentMessage__Output {
  'hello'?: (_anvil_provisioning_v1_Hello__Output | null);
  'hardware'?: (_anvil_provisioning_v1_HardwareReport__Output | null);
  'progress'?: (_anvil_provisioning_v1_TaskProgress__Output | null);
  'result'?: (_anvil_provisioning_v1_TaskResult__Output | null);
  'body'?: "hello"|"hardware"|"progress"|"result";
}
