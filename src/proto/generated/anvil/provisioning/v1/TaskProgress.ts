// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface TaskProgressInput {
  'taskId'?: (string);
  'disk'?: (string);
  'bytesDone'?: (number | string | Long);
  'bytesTotal'?: (number | string | Long);
  'rateBytesPerSecond'?: (number | string | Long);
  /**
   * wipe: "wipe" | "verify"; install: "download" | "write" | "verify" | "state" | "commit"
   */
  'phase'?: (string);
}

export interface TaskProgress {
  'taskId': (string);
  'disk': (string);
  'bytesDone': (number);
  'bytesTotal': (number);
  'rateBytesPerSecond': (number);
  /**
   * wipe: "wipe" | "verify"; install: "download" | "write" | "verify" | "state" | "commit"
   */
  'phase': (string);
}
