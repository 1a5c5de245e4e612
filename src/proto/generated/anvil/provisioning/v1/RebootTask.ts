// Original file: src/proto/provisioning.proto


export interface RebootTaskInput {
}

export interface RebootTask {
}
