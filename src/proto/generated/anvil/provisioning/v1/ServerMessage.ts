// Original file: src/proto/provisioning.proto

import type { Welcome as _anvil_provisioning_v1_Welcome, Welcome__Output as _anvil_provisioning_v1_Welcome__Output } from '../../../anvil/provisioning/v1/Welcome.ts';
import type { Task as _anvil_provisioning_v1_Task, Task__Output as _anvil_provisioning_v1_Task__Output } from '../../../anvil/provisioning/v1/Task.ts';

export interface ServerMessage {
  'welcome'?: (_anvil_provisioning_v1_Welcome | null);
  'task'?: (_anvil_provisioning_v1_Task | null);
  'body'?: "welcome"|"task";
}

export interface ServerMessage__Output {
  'welcome'?: (_anvil_provisioning_v1_Welcome__Output | null);
  'task'?: (_anvil_provisioning_v1_Task__Output | null);
  'body'?: "welcome"|"task";
}
