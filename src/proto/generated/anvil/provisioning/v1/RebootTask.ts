// Original file: src/proto/provisioning.proto


export interface RebootTask {
}

export interface RebootTask__Output {
}
