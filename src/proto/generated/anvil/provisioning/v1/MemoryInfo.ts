// Original file: src/proto/provisioning.proto

import type { DimmInput as _anvil_provisioning_v1_DimmInput, Dimm as _anvil_provisioning_v1_Dimm } from '../../../anvil/provisioning/v1/Dimm.ts';
import type { Long } from '@grpc/proto-loader';

export interface MemoryInfoInput {
  /**
   * MemTotal from /proc/meminfo
   */
  'totalBytes'?: (number | string | Long);
  /**
   * SMBIOS type 17, populated slots only
   */
  'dimms'?: (_anvil_provisioning_v1_DimmInput)[];
}

export interface MemoryInfo {
  /**
   * MemTotal from /proc/meminfo
   */
  'totalBytes': (number);
  /**
   * SMBIOS type 17, populated slots only
   */
  'dimms': (_anvil_provisioning_v1_Dimm)[];
}
