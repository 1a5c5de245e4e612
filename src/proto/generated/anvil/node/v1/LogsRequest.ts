// Original file: src/proto/node.proto


export interface LogsRequestInput {
  'service'?: (string);
  'follow'?: (boolean);
  /**
   * 0: everything kept
   */
  'tail'?: (number);
}

export interface LogsRequest {
  'service': (string);
  'follow': (boolean);
  /**
   * 0: everything kept
   */
  'tail': (number);
}
