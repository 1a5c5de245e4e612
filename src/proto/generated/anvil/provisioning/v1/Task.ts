// Original file: src/proto/provisioning.proto

import type { WipeTaskInput as _anvil_provisioning_v1_WipeTaskInput, WipeTask as _anvil_provisioning_v1_WipeTask } from '../../../anvil/provisioning/v1/WipeTask.ts';
import type { RebootTaskInput as _anvil_provisioning_v1_RebootTaskInput, RebootTask as _anvil_provisioning_v1_RebootTask } from '../../../anvil/provisioning/v1/RebootTask.ts';
import type { PowerOffTaskInput as _anvil_provisioning_v1_PowerOffTaskInput, PowerOffTask as _anvil_provisioning_v1_PowerOffTask } from '../../../anvil/provisioning/v1/PowerOffTask.ts';
import type { InstallTaskInput as _anvil_provisioning_v1_InstallTaskInput, InstallTask as _anvil_provisioning_v1_InstallTask } from '../../../anvil/provisioning/v1/InstallTask.ts';

export interface TaskInput {
  'id'?: (string);
  'wipe'?: (_anvil_provisioning_v1_WipeTaskInput | null);
  'reboot'?: (_anvil_provisioning_v1_RebootTaskInput | null);
  'powerOff'?: (_anvil_provisioning_v1_PowerOffTaskInput | null);
  'install'?: (_anvil_provisioning_v1_InstallTaskInput | null);
  'kind'?: "wipe"|"reboot"|"powerOff"|"install";
}

export interface Task {
  'id': (string);
  'wipe'?: (_anvil_provisioning_v1_WipeTask | null);
  'reboot'?: (_anvil_provisioning_v1_RebootTask | null);
  'powerOff'?: (_anvil_provisioning_v1_PowerOffTask | null);
  'install'?: (_anvil_provisioning_v1_InstallTask | null);
  'kind'?: "wipe"|"reboot"|"powerOff"|"install";
}
