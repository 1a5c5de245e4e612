// Original file: src/proto/provisioning.proto


export interface PowerOffTaskInput {
}

export interface PowerOffTask {
}
