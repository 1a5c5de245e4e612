// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeCertificateRequestInput {
  'machineId'?: (string);
  /**
   * SPKI DER of the key apid will use (Ed25519)
   */
  'tlsPublicKey'?: (Buffer | Uint8Array | string);
  /**
   * the SANs it asks for: a subset of its reported addresses (no prefix)
   */
  'ips'?: (string)[];
  /**
   * a subset of { its hostname }
   */
  'dnsNames'?: (string)[];
  /**
   * the node's clock; within 5 minutes of Anvil's
   */
  'requestedAtMs'?: (number | string | Long);
  /**
   * Ed25519, identity key, over nodeCertificateProof(...)
   */
  'signature'?: (Buffer | Uint8Array | string);
}

export interface NodeCertificateRequest {
  'machineId': (string);
  /**
   * SPKI DER of the key apid will use (Ed25519)
   */
  'tlsPublicKey': (Buffer);
  /**
   * the SANs it asks for: a subset of its reported addresses (no prefix)
   */
  'ips': (string)[];
  /**
   * a subset of { its hostname }
   */
  'dnsNames': (string)[];
  /**
   * the node's clock; within 5 minutes of Anvil's
   */
  'requestedAtMs': (number);
  /**
   * Ed25519, identity key, over nodeCertificateProof(...)
   */
  'signature': (Buffer);
}
