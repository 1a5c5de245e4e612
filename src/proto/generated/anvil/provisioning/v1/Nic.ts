// Original file: src/proto/provisioning.proto


export interface Nic {
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

export interface Nic__Output {
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
