// Original file: src/proto/node.proto


export interface VersionRequestInput {
}

export interface VersionRequest {
}
