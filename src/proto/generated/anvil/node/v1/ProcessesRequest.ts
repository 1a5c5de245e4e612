// Original file: src/proto/node.proto


export interface ProcessesRequestInput {
}

export interface ProcessesRequest {
}
