// Original file: src/proto/node.proto


export interface DisksRequestInput {
}

export interface DisksRequest {
}
