// Original file: src/proto/node.proto


export interface GetOperationRequestInput {
  'id'?: (string);
}

export interface GetOperationRequest {
  'id': (string);
}
