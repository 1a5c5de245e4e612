// Original file: src/proto/provisioning.proto


export interface PowerOffTask {
}

export interface PowerOffTask__Output {
}
