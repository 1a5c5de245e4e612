// Original file: src/proto/provisioning.proto


export interface WelcomeInput {
  'machineId'?: (string);
}

export interface Welcome {
  'machineId': (string);
}
