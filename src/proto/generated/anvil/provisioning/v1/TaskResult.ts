// Original file: src/proto/provisioning.proto

import type { EraseReport as _anvil_provisioning_v1_EraseReport, EraseReport__Output as _anvil_provisioning_v1_EraseReport__Output } from '../../../anvil/provisioning/v1/EraseReport.ts';

export interface TaskResult {
  'taskId'?: (string);
  'ok'?: (boolean);
  /**
   * why, when not ok
   */
  'error'?: (string);
  'eraseReports'?: (_anvil_provisioning_v1_EraseReport)[];
}

export interface TaskResult__Output {
  'taskId': (string);
  'ok': (boolean);
  /**
   * why, when not ok
   */
  'error': (string);
  'eraseReports': (_anvil_provisioning_v1_EraseReport__Output)[];
}
