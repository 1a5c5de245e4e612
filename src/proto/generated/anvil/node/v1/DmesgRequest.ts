// Original file: src/proto/node.proto


export interface DmesgRequestInput {
  'follow'?: (boolean);
  /**
   * 0: everything kept
   */
  'tail'?: (number);
}

export interface DmesgRequest {
  'follow': (boolean);
  /**
   * 0: everything kept
   */
  'tail': (number);
}
