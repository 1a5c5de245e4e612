// Original file: src/proto/provisioning.proto

import type { WipeTask as _anvil_provisioning_v1_WipeTask, WipeTask__Output as _anvil_provisioning_v1_WipeTask__Output } from '../../../anvil/provisioning/v1/WipeTask.ts';
import type { RebootTask as _anvil_provisioning_v1_RebootTask, RebootTask__Output as _anvil_provisioning_v1_RebootTask__Output } from '../../../anvil/provisioning/v1/RebootTask.ts';
import type { PowerOffTask as _anvil_provisioning_v1_PowerOffTask, PowerOffTask__Output as _anvil_provisioning_v1_PowerOffTask__Output } from '../../../anvil/provisioning/v1/PowerOffTask.ts';

export interface Task {
  'id'?: (string);
  'wipe'?: (_anvil_provisioning_v1_WipeTask | null);
  'reboot'?: (_anvil_provisioning_v1_RebootTask | null);
  'powerOff'?: (_anvil_provisioning_v1_PowerOffTask | null);
  'kind'?: "wipe"|"reboot"|"powerOff";
}

export interface Task__Output {
  'id': (string);
  'wipe'?: (_anvil_provisioning_v1_WipeTask__Output | null);
  'reboot'?: (_anvil_provisioning_v1_RebootTask__Output | null);
  'powerOff'?: (_anvil_provisioning_v1_PowerOffTask__Output | null);
  'kind'?: "wipe"|"reboot"|"powerOff";
}
