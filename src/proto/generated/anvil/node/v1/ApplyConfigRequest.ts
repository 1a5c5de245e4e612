// Original file: src/proto/node.proto


export interface ApplyConfigRequestInput {
  /**
   * the YAML, exact bytes as signed (may hold secrets: never logged)
   */
  'config'?: (Buffer | Uint8Array | string);
  /**
   * minisign signature file text; trusted comment binds machine, generation, expiry
   */
  'configSignature'?: (string);
  /**
   * "" | "auto" | "no-reboot" | "reboot" | "try"
   */
  'mode'?: (string);
  'tryTimeoutS'?: (number);
  'dryRun'?: (boolean);
}

export interface ApplyConfigRequest {
  /**
   * the YAML, exact bytes as signed (may hold secrets: never logged)
   */
  'config': (Buffer);
  /**
   * minisign signature file text; trusted comment binds machine, generation, expiry
   */
  'configSignature': (string);
  /**
   * "" | "auto" | "no-reboot" | "reboot" | "try"
   */
  'mode': (string);
  'tryTimeoutS': (number);
  'dryRun': (boolean);
}
