// Original file: src/proto/node.proto


export interface RollbackRequestInput {
}

export interface RollbackRequest {
}
