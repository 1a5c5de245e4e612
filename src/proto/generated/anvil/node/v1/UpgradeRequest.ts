// Original file: src/proto/node.proto


export interface UpgradeRequestInput {
  'imageName'?: (string);
  'imageVersion'?: (string);
  /**
   * the manifest's exact bytes (anvil.dev/image/v1)
   */
  'manifest'?: (Buffer | Uint8Array | string);
  /**
   * minisign signature text over those bytes
   */
  'manifestSignature'?: (string);
  /**
   * the artifact on Anvil's boot listener (http://, fetched by Range)
   */
  'imageUrl'?: (string);
  /**
   * allow the same or an older version (never a lower security version)
   */
  'force'?: (boolean);
  /**
   * the new slot's time to come up healthy (0: 300 s)
   */
  'healthTimeoutS'?: (number);
}

export interface UpgradeRequest {
  'imageName': (string);
  'imageVersion': (string);
  /**
   * the manifest's exact bytes (anvil.dev/image/v1)
   */
  'manifest': (Buffer);
  /**
   * minisign signature text over those bytes
   */
  'manifestSignature': (string);
  /**
   * the artifact on Anvil's boot listener (http://, fetched by Range)
   */
  'imageUrl': (string);
  /**
   * allow the same or an older version (never a lower security version)
   */
  'force': (boolean);
  /**
   * the new slot's time to come up healthy (0: 300 s)
   */
  'healthTimeoutS': (number);
}
