// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface DimmInput {
  'locator'?: (string);
  'sizeBytes'?: (number | string | Long);
  'speedMts'?: (number);
  /**
   * "DDR4", "RAM", ...
   */
  'type'?: (string);
  'manufacturer'?: (string);
  'serial'?: (string);
}

export interface Dimm {
  'locator': (string);
  'sizeBytes': (number);
  'speedMts': (number);
  /**
   * "DDR4", "RAM", ...
   */
  'type': (string);
  'manufacturer': (string);
  'serial': (string);
}
