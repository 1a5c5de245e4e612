// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What an install did, in its TaskResult.
 */
export interface InstallReportInput {
  'disk'?: (string);
  /**
   * raw bytes written to the disk (the image's uncompressed size)
   */
  'bytesWritten'?: (number | string | Long);
  /**
   * fetch + write + read-back + STATE + commit
   */
  'durationMs'?: (number | string | Long);
  /**
   * fetch + decompress + write alone (for the write rate)
   */
  'writeMs'?: (number | string | Long);
  /**
   * of the raw bytes written, as read back
   */
  'imageSha256'?: (string);
  /**
   * everything read back matched the manifest
   */
  'verified'?: (boolean);
  /**
   * the slot it made bootable ("A")
   */
  'slot'?: (string);
  /**
   * the partition tables were written: the disk is bootable
   */
  'committed'?: (boolean);
}

/**
 * What an install did, in its TaskResult.
 */
export interface InstallReport {
  'disk': (string);
  /**
   * raw bytes written to the disk (the image's uncompressed size)
   */
  'bytesWritten': (number);
  /**
   * fetch + write + read-back + STATE + commit
   */
  'durationMs': (number);
  /**
   * fetch + decompress + write alone (for the write rate)
   */
  'writeMs': (number);
  /**
   * of the raw bytes written, as read back
   */
  'imageSha256': (string);
  /**
   * everything read back matched the manifest
   */
  'verified': (boolean);
  /**
   * the slot it made bootable ("A")
   */
  'slot': (string);
  /**
   * the partition tables were written: the disk is bootable
   */
  'committed': (boolean);
}
