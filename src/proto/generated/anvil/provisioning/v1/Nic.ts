// Original file: src/proto/provisioning.proto


export interface NicInput {
  'name'?: (string);
  'mac'?: (string);
  'driver'?: (string);
  /**
   * 0 when unknown or no link
   */
  'speedMbps'?: (number);
  'link'?: (boolean);
  'pciAddress'?: (string);
}

export interface Nic {
  'name': (string);
  'mac': (string);
  'driver': (string);
  /**
   * 0 when unknown or no link
   */
  'speedMbps': (number);
  'link': (boolean);
  'pciAddress': (string);
}
