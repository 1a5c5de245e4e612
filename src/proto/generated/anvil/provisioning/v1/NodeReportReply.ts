// Original file: src/proto/provisioning.proto


export interface NodeReportReplyInput {
  'machineId'?: (string);
  /**
   * the machine's lifecycle state after the report (provisioned)
   */
  'state'?: (string);
}

export interface NodeReportReply {
  'machineId': (string);
  /**
   * the machine's lifecycle state after the report (provisioned)
   */
  'state': (string);
}
