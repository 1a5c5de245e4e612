// Original file: src/proto/provisioning.proto


export interface BoardInfoInput {
  'manufacturer'?: (string);
  'product'?: (string);
  'serial'?: (string);
  'version'?: (string);
}

export interface BoardInfo {
  'manufacturer': (string);
  'product': (string);
  'serial': (string);
  'version': (string);
}
