// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface MountInput {
  'source'?: (string);
  'target'?: (string);
  'fstype'?: (string);
  'options'?: (string);
  /**
   * statfs; 0 for pseudo file systems
   */
  'sizeBytes'?: (number | string | Long);
  'availableBytes'?: (number | string | Long);
}

export interface Mount {
  'source': (string);
  'target': (string);
  'fstype': (string);
  'options': (string);
  /**
   * statfs; 0 for pseudo file systems
   */
  'sizeBytes': (number);
  'availableBytes': (number);
}
