// Original file: src/proto/provisioning.proto


export interface BmcInfoInput {
  'ip'?: (string);
  'mac'?: (string);
  'ipSource'?: (string);
}

export interface BmcInfo {
  'ip': (string);
  'mac': (string);
  'ipSource': (string);
}
