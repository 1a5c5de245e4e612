// Original file: src/proto/provisioning.proto

import type { WelcomeInput as _anvil_provisioning_v1_WelcomeInput, Welcome as _anvil_provisioning_v1_Welcome } from '../../../anvil/provisioning/v1/Welcome.ts';
import type { TaskInput as _anvil_provisioning_v1_TaskInput, Task as _anvil_provisioning_v1_Task } from '../../../anvil/provisioning/v1/Task.ts';
import type { CancelInput as _anvil_provisioning_v1_CancelInput, Cancel as _anvil_provisioning_v1_Cancel } from '../../../anvil/provisioning/v1/Cancel.ts';

export interface ServerMessageInput {
  'welcome'?: (_anvil_provisioning_v1_WelcomeInput | null);
  'task'?: (_anvil_provisioning_v1_TaskInput | null);
  'cancel'?: (_anvil_provisioning_v1_CancelInput | null);
  'body'?: "welcome"|"task"|"cancel";
}

export interface ServerMessage {
  'welcome'?: (_anvil_provisioning_v1_Welcome | null);
  'task'?: (_anvil_provisioning_v1_Task | null);
  'cancel'?: (_anvil_provisioning_v1_Cancel | null);
  'body'?: "welcome"|"task"|"cancel";
}
