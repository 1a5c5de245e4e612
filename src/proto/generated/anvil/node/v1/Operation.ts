// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface OperationInput {
  'id'?: (string);
  /**
   * reboot | shutdown | upgrade | rollback | reset (apply-config later)
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
  /**
   * upgrade: the phases are fetch → write → verify → select → reboot → health → commit.
   */
  'bytesDone'?: (number | string | Long);
  'bytesTotal'?: (number | string | Long);
  /**
   * upgrade, rollback: the slot running when it began
   */
  'fromSlot'?: (string);
  'toSlot'?: (string);
  /**
   * upgrade: image versions
   */
  'fromVersion'?: (string);
  'toVersion'?: (string);
  /**
   * the stable code of `error` (ERR_…)
   */
  'errorCode'?: (string);
}

export interface Operation {
  'id': (string);
  /**
   * reboot | shutdown | upgrade | rollback | reset (apply-config later)
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
  /**
   * upgrade: the phases are fetch → write → verify → select → reboot → health → commit.
   */
  'bytesDone': (number);
  'bytesTotal': (number);
  /**
   * upgrade, rollback: the slot running when it began
   */
  'fromSlot': (string);
  'toSlot': (string);
  /**
   * upgrade: image versions
   */
  'fromVersion': (string);
  'toVersion': (string);
  /**
   * the stable code of `error` (ERR_…)
   */
  'errorCode': (string);
}
