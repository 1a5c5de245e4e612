// Original file: src/proto/node.proto


export interface MemoryRequestInput {
}

export interface MemoryRequest {
}
