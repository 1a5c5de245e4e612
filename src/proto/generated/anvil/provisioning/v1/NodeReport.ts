// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeReportInput {
  'machineId'?: (string);
  'imageName'?: (string);
  'imageVersion'?: (string);
  /**
   * "A" | "B": the slot the node booted (anvil.slot on its command line)
   */
  'slot'?: (string);
  /**
   * the generation of the signed config the node verified and applied
   */
  'configGeneration'?: (number | string | Long);
  /**
   * The node's Ed25519 identity key, SPKI DER; made on first boot, kept in STATE.
   */
  'publicKey'?: (Buffer | Uint8Array | string);
  /**
   * Ed25519 signature with that key over nodeReportProof(...) (src/node/report-proof.ts):
   * "anvil node report v1\n" machine_id "\n" config_generation "\n" sha256(token) hex "\n".
   */
  'proof'?: (Buffer | Uint8Array | string);
  /**
   * the node's addresses, CIDR, as it applied them (at most 16)
   */
  'addresses'?: (string)[];
  'hostname'?: (string);
  /**
   * proc/sys/kernel/random/boot_id
   */
  'bootId'?: (string);
}

export interface NodeReport {
  'machineId': (string);
  'imageName': (string);
  'imageVersion': (string);
  /**
   * "A" | "B": the slot the node booted (anvil.slot on its command line)
   */
  'slot': (string);
  /**
   * the generation of the signed config the node verified and applied
   */
  'configGeneration': (number);
  /**
   * The node's Ed25519 identity key, SPKI DER; made on first boot, kept in STATE.
   */
  'publicKey': (Buffer);
  /**
   * Ed25519 signature with that key over nodeReportProof(...) (src/node/report-proof.ts):
   * "anvil node report v1\n" machine_id "\n" config_generation "\n" sha256(token) hex "\n".
   */
  'proof': (Buffer);
  /**
   * the node's addresses, CIDR, as it applied them (at most 16)
   */
  'addresses': (string)[];
  'hostname': (string);
  /**
   * proc/sys/kernel/random/boot_id
   */
  'bootId': (string);
}
