// Original file: src/proto/provisioning.proto


export interface BmcInfo {
  'ip'?: (string);
  'mac'?: (string);
  'ipSource'?: (string);
}

export interface BmcInfo__Output {
  'ip': (string);
  'mac': (string);
  'ipSource': (string);
}
