// Original file: src/proto/node.proto


export interface RebootRequestInput {
  /**
   * "" | "default": services stopped first; "force": at once
   */
  'mode'?: (string);
}

export interface RebootRequest {
  /**
   * "" | "default": services stopped first; "force": at once
   */
  'mode': (string);
}
