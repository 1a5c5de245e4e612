// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface OperationInput {
  'id'?: (string);
  /**
   * reboot | shutdown (upgrade, rollback, reset, apply-config later)
   */
  'kind'?: (string);
  /**
   * pending | running | succeeded | failed | rolled_back
   */
  'state'?: (string);
  'phase'?: (string);
  'startedAtMs'?: (number | string | Long);
  'finishedAtMs'?: (number | string | Long);
  'error'?: (string);
  'bootIdBefore'?: (string);
}

export interface Operation {
  'id': (string);
  /**
   * reboot | shutdown (upgrade, rollback, reset, apply-config later)
   */
  'kind': (string);
  /**
   * pending | running | succeeded | failed | rolled_back
   */
  'state': (string);
  'phase': (string);
  'startedAtMs': (number);
  'finishedAtMs': (number);
  'error': (string);
  'bootIdBefore': (string);
}
