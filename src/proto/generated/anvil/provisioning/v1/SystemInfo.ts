// Original file: src/proto/provisioning.proto


export interface SystemInfoInput {
  /**
   * SMBIOS type 1, canonical lower-case string
   */
  'uuid'?: (string);
  'serial'?: (string);
  'manufacturer'?: (string);
  'product'?: (string);
  'sku'?: (string);
  'family'?: (string);
  'version'?: (string);
}

export interface SystemInfo {
  /**
   * SMBIOS type 1, canonical lower-case string
   */
  'uuid': (string);
  'serial': (string);
  'manufacturer': (string);
  'product': (string);
  'sku': (string);
  'family': (string);
  'version': (string);
}
