// Original file: src/proto/provisioning.proto

import type { WelcomeInput as _anvil_provisioning_v1_WelcomeInput, Welcome as _anvil_provisioning_v1_Welcome } from '../../../anvil/provisioning/v1/Welcome.ts';
import type { TaskInput as _anvil_provisioning_v1_TaskInput, Task as _anvil_provisioning_v1_Task } from '../../../anvil/provisioning/v1/Task.ts';

export interface ServerMessageInput {
  'welcome'?: (_anvil_provisioning_v1_WelcomeInput | null);
  'task'?: (_anvil_provisioning_v1_TaskInput | null);
  'body'?: "welcome"|"task";
}

export interface ServerMessage {
  'welcome'?: (_anvil_provisioning_v1_Welcome | null);
  'task'?: (_anvil_provisioning_v1_Task | null);
  'body'?: "welcome"|"task";
}
