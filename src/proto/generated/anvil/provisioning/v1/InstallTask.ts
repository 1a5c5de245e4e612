// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Write a signed node image and a signed machine config to one disk (issue 10, docs/install.md).
 * The agent verifies the manifest signature and the config signature before it writes anything,
 * hashes every chunk as it writes, reads everything back, writes STATE, and writes the partition
 * tables last, so a tampered or half-written disk is never bootable. Progress phases: "download"
 * (bytes fetched), "write" (bytes written), "verify" (bytes read back), "state", "commit".
 */
export interface InstallTaskInput {
  'imageName'?: (string);
  'imageVersion'?: (string);
  /**
   * The artifact (zstd of the whole raw disk) on the boot listener; the agent fetches it with Range
   * and resumes after a dropped connection.
   */
  'imageUrl'?: (string);
  /**
   * the manifest's exact bytes (anvil.dev/image/v1)
   */
  'manifest'?: (Buffer | Uint8Array | string);
  /**
   * minisign signature file text over those bytes
   */
  'manifestSignature'?: (string);
  /**
   * The image keys the agent trusts (minisign public key strings, the base64 line of a .pub file).
   */
  'imageKeys'?: (string)[];
  /**
   * The target disk, as the hardware report named it; the agent checks that the live disk of that
   * name still has this serial, WWN and size (a disk that vanished or changed is refused).
   */
  'disk'?: (string);
  'diskSerial'?: (string);
  'diskWwn'?: (string);
  'diskSizeBytes'?: (number | string | Long);
  /**
   * The signed machine config: YAML (may hold secrets: only ever sent on this channel) and its
   * minisign signature, whose trusted comment binds machine id, generation and expiry.
   */
  'config'?: (Buffer | Uint8Array | string);
  'configSignature'?: (string);
  /**
   * the config key's public half (minisign public key string)
   */
  'configKey'?: (string);
  'machineId'?: (string);
  'configGeneration'?: (number | string | Long);
  /**
   * The one-time token the installed node presents on its first ReportIn; written to STATE.
   */
  'nodeToken'?: (string);
}

/**
 * Write a signed node image and a signed machine config to one disk (issue 10, docs/install.md).
 * The agent verifies the manifest signature and the config signature before it writes anything,
 * hashes every chunk as it writes, reads everything back, writes STATE, and writes the partition
 * tables last, so a tampered or half-written disk is never bootable. Progress phases: "download"
 * (bytes fetched), "write" (bytes written), "verify" (bytes read back), "state", "commit".
 */
export interface InstallTask {
  'imageName': (string);
  'imageVersion': (string);
  /**
   * The artifact (zstd of the whole raw disk) on the boot listener; the agent fetches it with Range
   * and resumes after a dropped connection.
   */
  'imageUrl': (string);
  /**
   * the manifest's exact bytes (anvil.dev/image/v1)
   */
  'manifest': (Buffer);
  /**
   * minisign signature file text over those bytes
   */
  'manifestSignature': (string);
  /**
   * The image keys the agent trusts (minisign public key strings, the base64 line of a .pub file).
   */
  'imageKeys': (string)[];
  /**
   * The target disk, as the hardware report named it; the agent checks that the live disk of that
   * name still has this serial, WWN and size (a disk that vanished or changed is refused).
   */
  'disk': (string);
  'diskSerial': (string);
  'diskWwn': (string);
  'diskSizeBytes': (number);
  /**
   * The signed machine config: YAML (may hold secrets: only ever sent on this channel) and its
   * minisign signature, whose trusted comment binds machine id, generation and expiry.
   */
  'config': (Buffer);
  'configSignature': (string);
  /**
   * the config key's public half (minisign public key string)
   */
  'configKey': (string);
  'machineId': (string);
  'configGeneration': (number);
  /**
   * The one-time token the installed node presents on its first ReportIn; written to STATE.
   */
  'nodeToken': (string);
}
