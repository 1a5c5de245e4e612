// Original file: src/proto/provisioning.proto


export interface BoardInfo {
  'manufacturer'?: (string);
  'product'?: (string);
  'serial'?: (string);
  'version'?: (string);
}

export interface BoardInfo__Output {
  'manufacturer': (string);
  'product': (string);
  'serial': (string);
  'version': (string);
}
