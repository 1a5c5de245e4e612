// Original file: src/proto/node.proto


export interface ResetRequestInput {
  'graceful'?: (boolean);
  /**
   * "" | "all" | "state" | "ephemeral"
   */
  'wipe'?: (string);
}

export interface ResetRequest {
  'graceful': (boolean);
  /**
   * "" | "all" | "state" | "ephemeral"
   */
  'wipe': (string);
}
