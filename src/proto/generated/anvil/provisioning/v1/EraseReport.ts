// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface EraseReportInput {
  'disk'?: (string);
  'serial'?: (string);
  /**
   * "fast" | "zeroes"
   */
  'method'?: (string);
  'bytesWritten'?: (number | string | Long);
  'durationMs'?: (number | string | Long);
  'verified'?: (boolean);
  /**
   * non-empty: the disk was not touched, and why (mounted, boot disk)
   */
  'refused'?: (string);
}

export interface EraseReport {
  'disk': (string);
  'serial': (string);
  /**
   * "fast" | "zeroes"
   */
  'method': (string);
  'bytesWritten': (number);
  'durationMs': (number);
  'verified': (boolean);
  /**
   * non-empty: the disk was not touched, and why (mounted, boot disk)
   */
  'refused': (string);
}
