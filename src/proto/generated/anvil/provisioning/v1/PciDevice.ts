// Original file: src/proto/provisioning.proto


export interface PciDeviceInput {
  /**
   * 0000:00:03.0
   */
  'address'?: (string);
  'vendorId'?: (number);
  'deviceId'?: (number);
  /**
   * 24-bit class/subclass/prog-if
   */
  'classCode'?: (number);
  'driver'?: (string);
}

export interface PciDevice {
  /**
   * 0000:00:03.0
   */
  'address': (string);
  'vendorId': (number);
  'deviceId': (number);
  /**
   * 24-bit class/subclass/prog-if
   */
  'classCode': (number);
  'driver': (string);
}
