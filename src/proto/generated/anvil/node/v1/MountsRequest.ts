// Original file: src/proto/node.proto


export interface MountsRequestInput {
}

export interface MountsRequest {
}
