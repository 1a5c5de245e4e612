// Original file: src/proto/provisioning.proto


export interface ChassisInfoInput {
  'manufacturer'?: (string);
  /**
   * SMBIOS type 3 chassis type, named (e.g. "Rack Mount Chassis")
   */
  'type'?: (string);
  'serial'?: (string);
  'assetTag'?: (string);
}

export interface ChassisInfo {
  'manufacturer': (string);
  /**
   * SMBIOS type 3 chassis type, named (e.g. "Rack Mount Chassis")
   */
  'type': (string);
  'serial': (string);
  'assetTag': (string);
}
