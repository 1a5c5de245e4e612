// Original file: src/proto/node.proto


export interface OperationsRequestInput {
}

export interface OperationsRequest {
}
