// Original file: src/proto/node.proto


export interface ServicesRequestInput {
}

export interface ServicesRequest {
}
