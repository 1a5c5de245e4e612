// Original file: src/proto/provisioning.proto

import type { EraseReportInput as _anvil_provisioning_v1_EraseReportInput, EraseReport as _anvil_provisioning_v1_EraseReport } from '../../../anvil/provisioning/v1/EraseReport.ts';
import type { InstallReportInput as _anvil_provisioning_v1_InstallReportInput, InstallReport as _anvil_provisioning_v1_InstallReport } from '../../../anvil/provisioning/v1/InstallReport.ts';

export interface TaskResultInput {
  'taskId'?: (string);
  'ok'?: (boolean);
  /**
   * why, when not ok
   */
  'error'?: (string);
  'eraseReports'?: (_anvil_provisioning_v1_EraseReportInput)[];
  /**
   * install tasks: set whether ok or not (committed says how far it got)
   */
  'install'?: (_anvil_provisioning_v1_InstallReportInput | null);
}

export interface TaskResult {
  'taskId': (string);
  'ok': (boolean);
  /**
   * why, when not ok
   */
  'error': (string);
  'eraseReports': (_anvil_provisioning_v1_EraseReport)[];
  /**
   * install tasks: set whether ok or not (committed says how far it got)
   */
  'install': (_anvil_provisioning_v1_InstallReport | null);
}
