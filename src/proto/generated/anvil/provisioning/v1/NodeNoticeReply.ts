// Original file: src/proto/provisioning.proto


export interface NodeNoticeReplyInput {
  /**
   * the machine's state after the notice
   */
  'machineState'?: (string);
}

export interface NodeNoticeReply {
  /**
   * the machine's state after the notice
   */
  'machineState': (string);
}
