// Original file: src/proto/provisioning.proto

import type { SystemInfoInput as _anvil_provisioning_v1_SystemInfoInput, SystemInfo as _anvil_provisioning_v1_SystemInfo } from '../../../anvil/provisioning/v1/SystemInfo.ts';
import type { BoardInfoInput as _anvil_provisioning_v1_BoardInfoInput, BoardInfo as _anvil_provisioning_v1_BoardInfo } from '../../../anvil/provisioning/v1/BoardInfo.ts';
import type { BiosInfoInput as _anvil_provisioning_v1_BiosInfoInput, BiosInfo as _anvil_provisioning_v1_BiosInfo } from '../../../anvil/provisioning/v1/BiosInfo.ts';
import type { ChassisInfoInput as _anvil_provisioning_v1_ChassisInfoInput, ChassisInfo as _anvil_provisioning_v1_ChassisInfo } from '../../../anvil/provisioning/v1/ChassisInfo.ts';
import type { CpuInfoInput as _anvil_provisioning_v1_CpuInfoInput, CpuInfo as _anvil_provisioning_v1_CpuInfo } from '../../../anvil/provisioning/v1/CpuInfo.ts';
import type { MemoryInfoInput as _anvil_provisioning_v1_MemoryInfoInput, MemoryInfo as _anvil_provisioning_v1_MemoryInfo } from '../../../anvil/provisioning/v1/MemoryInfo.ts';
import type { DiskInput as _anvil_provisioning_v1_DiskInput, Disk as _anvil_provisioning_v1_Disk } from '../../../anvil/provisioning/v1/Disk.ts';
import type { NicInput as _anvil_provisioning_v1_NicInput, Nic as _anvil_provisioning_v1_Nic } from '../../../anvil/provisioning/v1/Nic.ts';
import type { PciDeviceInput as _anvil_provisioning_v1_PciDeviceInput, PciDevice as _anvil_provisioning_v1_PciDevice } from '../../../anvil/provisioning/v1/PciDevice.ts';
import type { BmcInfoInput as _anvil_provisioning_v1_BmcInfoInput, BmcInfo as _anvil_provisioning_v1_BmcInfo } from '../../../anvil/provisioning/v1/BmcInfo.ts';

export interface HardwareReportInput {
  'system'?: (_anvil_provisioning_v1_SystemInfoInput | null);
  'baseboard'?: (_anvil_provisioning_v1_BoardInfoInput | null);
  'bios'?: (_anvil_provisioning_v1_BiosInfoInput | null);
  'chassis'?: (_anvil_provisioning_v1_ChassisInfoInput | null);
  'cpu'?: (_anvil_provisioning_v1_CpuInfoInput | null);
  'memory'?: (_anvil_provisioning_v1_MemoryInfoInput | null);
  'disks'?: (_anvil_provisioning_v1_DiskInput)[];
  'nics'?: (_anvil_provisioning_v1_NicInput)[];
  'pci'?: (_anvil_provisioning_v1_PciDeviceInput)[];
  /**
   * absent when /dev/ipmi0 does not exist
   */
  'bmc'?: (_anvil_provisioning_v1_BmcInfoInput | null);
  /**
   * uname -r of the boot environment
   */
  'kernel'?: (string);
}

export interface HardwareReport {
  'system': (_anvil_provisioning_v1_SystemInfo | null);
  'baseboard': (_anvil_provisioning_v1_BoardInfo | null);
  'bios': (_anvil_provisioning_v1_BiosInfo | null);
  'chassis': (_anvil_provisioning_v1_ChassisInfo | null);
  'cpu': (_anvil_provisioning_v1_CpuInfo | null);
  'memory': (_anvil_provisioning_v1_MemoryInfo | null);
  'disks': (_anvil_provisioning_v1_Disk)[];
  'nics': (_anvil_provisioning_v1_Nic)[];
  'pci': (_anvil_provisioning_v1_PciDevice)[];
  /**
   * absent when /dev/ipmi0 does not exist
   */
  'bmc': (_anvil_provisioning_v1_BmcInfo | null);
  /**
   * uname -r of the boot environment
   */
  'kernel': (string);
}
