// Original file: src/proto/provisioning.proto

import type { EraseReportInput as _anvil_provisioning_v1_EraseReportInput, EraseReport as _anvil_provisioning_v1_EraseReport } from '../../../anvil/provisioning/v1/EraseReport.ts';

export interface TaskResultInput {
  'taskId'?: (string);
  'ok'?: (boolean);
  /**
   * why, when not ok
   */
  'error'?: (string);
  'eraseReports'?: (_anvil_provisioning_v1_EraseReportInput)[];
}

export interface TaskResult {
  'taskId': (string);
  'ok': (boolean);
  /**
   * why, when not ok
   */
  'error': (string);
  'eraseReports': (_anvil_provisioning_v1_EraseReport)[];
}
