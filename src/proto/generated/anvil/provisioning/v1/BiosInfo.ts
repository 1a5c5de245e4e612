// Original file: src/proto/provisioning.proto


export interface BiosInfoInput {
  'vendor'?: (string);
  'version'?: (string);
  /**
   * as SMBIOS gives it (mm/dd/yyyy)
   */
  'date'?: (string);
}

export interface BiosInfo {
  'vendor': (string);
  'version': (string);
  /**
   * as SMBIOS gives it (mm/dd/yyyy)
   */
  'date': (string);
}
