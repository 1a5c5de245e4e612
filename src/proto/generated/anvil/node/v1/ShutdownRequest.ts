// Original file: src/proto/node.proto


export interface ShutdownRequestInput {
  'force'?: (boolean);
}

export interface ShutdownRequest {
  'force': (boolean);
}
