// Original file: src/proto/provisioning.proto

import type { Dimm as _anvil_provisioning_v1_Dimm, Dimm__Output as _anvil_provisioning_v1_Dimm__Output } from '../../../anvil/provisioning/v1/Dimm.ts';
import type { Long } from '@grpc/proto-loader';

export interface MemoryInfo {
  /**
   * MemTotal from /proc/meminfo
   */
  'totalBytes'?: (number | string | Long);
  /**
   * SMBIOS type 17, populated slots only
   */
  'dimms'?: (_anvil_provisioning_v1_Dimm)[];
}

export interface MemoryInfo__Output {
  /**
   * MemTotal from /proc/meminfo
   */
  'totalBytes': (number);
  /**
   * SMBIOS type 17, populated slots only
   */
  'dimms': (_anvil_provisioning_v1_Dimm__Output)[];
}
