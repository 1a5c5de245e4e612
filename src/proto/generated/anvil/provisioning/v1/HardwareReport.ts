// Original file: src/proto/provisioning.proto

import type { SystemInfo as _anvil_provisioning_v1_SystemInfo, SystemInfo__Output as _anvil_provisioning_v1_SystemInfo__Output } from '../../../anvil/provisioning/v1/SystemInfo.ts';
import type { BoardInfo as _anvil_provisioning_v1_BoardInfo, BoardInfo__Output as _anvil_provisioning_v1_BoardInfo__Output } from '../../../anvil/provisioning/v1/BoardInfo.ts';
import type { BiosInfo as _anvil_provisioning_v1_BiosInfo, BiosInfo__Output as _anvil_provisioning_v1_BiosInfo__Output } from '../../../anvil/provisioning/v1/BiosInfo.ts';
import type { ChassisInfo as _anvil_provisioning_v1_ChassisInfo, ChassisInfo__Output as _anvil_provisioning_v1_ChassisInfo__Output } from '../../../anvil/provisioning/v1/ChassisInfo.ts';
import type { CpuInfo as _anvil_provisioning_v1_CpuInfo, CpuInfo__Output as _anvil_provisioning_v1_CpuInfo__Output } from '../../../anvil/provisioning/v1/CpuInfo.ts';
import type { MemoryInfo as _anvil_provisioning_v1_MemoryInfo, MemoryInfo__Output as _anvil_provisioning_v1_MemoryInfo__Output } from '../../../anvil/provisioning/v1/MemoryInfo.ts';
import type { Disk as _anvil_provisioning_v1_Disk, Disk__Output as _anvil_provisioning_v1_Disk__Output } from '../../../anvil/provisioning/v1/Disk.ts';
import type { Nic as _anvil_provisioning_v1_Nic, Nic__Output as _anvil_provisioning_v1_Nic__Output } from '../../../anvil/provisioning/v1/Nic.ts';
import type { PciDevice as _anvil_provisioning_v1_PciDevice, PciDevice__Output as _anvil_provisioning_v1_PciDevice__Output } from '../../../anvil/provisioning/v1/PciDevice.ts';
import type { BmcInfo as _anvil_provisioning_v1_BmcInfo, BmcInfo__Output as _anvil_provisioning_v1_BmcInfo__Output } from '../../../anvil/provisioning/v1/BmcInfo.ts';

export interface HardwareReport {
  'system'?: (_anvil_provisioning_v1_SystemInfo | null);
  'baseboard'?: (_anvil_provisioning_v1_BoardInfo | null);
  'bios'?: (_anvil_provisioning_v1_BiosInfo | null);
  'chassis'?: (_anvil_provisioning_v1_ChassisInfo | null);
  'cpu'?: (_anvil_provisioning_v1_CpuInfo | null);
  'memory'?: (_anvil_provisioning_v1_MemoryInfo | null);
  'disks'?: (_anvil_provisioning_v1_Disk)[];
  'nics'?: (_anvil_provisioning_v1_Nic)[];
  'pci'?: (_anvil_provisioning_v1_PciDevice)[];
  /**
   * absent when /dev/ipmi0 does not exist
   */
  'bmc'?: (_anvil_provisioning_v1_BmcInfo | null);
  /**
   * uname -r of the boot environment
   */
  'kernel'?: (string);
}

export interface HardwareReport__Output {
  'system': (_anvil_provisioning_v1_SystemInfo__Output | null);
  'baseboard': (_anvil_provisioning_v1_BoardInfo__Output | null);
  'bios': (_anvil_provisioning_v1_BiosInfo__Output | null);
  'chassis': (_anvil_provisioning_v1_ChassisInfo__Output | null);
  'cpu': (_anvil_provisioning_v1_CpuInfo__Output | null);
  'memory': (_anvil_provisioning_v1_MemoryInfo__Output | null);
  'disks': (_anvil_provisioning_v1_Disk__Output)[];
  'nics': (_anvil_provisioning_v1_Nic__Output)[];
  'pci': (_anvil_provisioning_v1_PciDevice__Output)[];
  /**
   * absent when /dev/ipmi0 does not exist
   */
  'bmc': (_anvil_provisioning_v1_BmcInfo__Output | null);
  /**
   * uname -r of the boot environment
   */
  'kernel': (string);
}
