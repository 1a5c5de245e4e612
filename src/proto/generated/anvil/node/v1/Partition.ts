// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface PartitionInput {
  'number'?: (number);
  /**
   * the GPT partition name (ANVIL-A, ANVIL-STATE, ...)
   */
  'name'?: (string);
  /**
   * vda3
   */
  'device'?: (string);
  'sizeBytes'?: (number | string | Long);
}

export interface Partition {
  'number': (number);
  /**
   * the GPT partition name (ANVIL-A, ANVIL-STATE, ...)
   */
  'name': (string);
  /**
   * vda3
   */
  'device': (string);
  'sizeBytes': (number);
}
