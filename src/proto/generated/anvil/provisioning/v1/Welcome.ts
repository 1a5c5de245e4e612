// Original file: src/proto/provisioning.proto


export interface Welcome {
  'machineId'?: (string);
}

export interface Welcome__Output {
  'machineId': (string);
}
