// Original file: src/proto/node.proto

import type { PartitionInput as _anvil_node_v1_PartitionInput, Partition as _anvil_node_v1_Partition } from '../../../anvil/node/v1/Partition.ts';
import type { Long } from '@grpc/proto-loader';

export interface DiskInput {
  /**
   * vda (informative: the kernel's order is not stable)
   */
  'name'?: (string);
  'sizeBytes'?: (number | string | Long);
  'model'?: (string);
  'serial'?: (string);
  'wwn'?: (string);
  'rotational'?: (boolean);
  'readOnly'?: (boolean);
  'partitions'?: (_anvil_node_v1_PartitionInput)[];
}

export interface Disk {
  /**
   * vda (informative: the kernel's order is not stable)
   */
  'name': (string);
  'sizeBytes': (number);
  'model': (string);
  'serial': (string);
  'wwn': (string);
  'rotational': (boolean);
  'readOnly': (boolean);
  'partitions': (_anvil_node_v1_Partition)[];
}
