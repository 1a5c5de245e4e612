// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeNoticeRequestInput {
  'machineId'?: (string);
  /**
   * "reset" | "upgraded" | "rolled_back"
   */
  'kind'?: (string);
  /**
   * the node's operation id
   */
  'operationId'?: (string);
  /**
   * upgraded / rolled_back: the image now running
   */
  'imageName'?: (string);
  'imageVersion'?: (string);
  'slot'?: (string);
  /**
   * a short reason (rolled_back: why), at most 512 characters
   */
  'detail'?: (string);
  'requestedAtMs'?: (number | string | Long);
  /**
   * Ed25519, identity key, over nodeNoticeProof(...)
   */
  'signature'?: (Buffer | Uint8Array | string);
}

export interface NodeNoticeRequest {
  'machineId': (string);
  /**
   * "reset" | "upgraded" | "rolled_back"
   */
  'kind': (string);
  /**
   * the node's operation id
   */
  'operationId': (string);
  /**
   * upgraded / rolled_back: the image now running
   */
  'imageName': (string);
  'imageVersion': (string);
  'slot': (string);
  /**
   * a short reason (rolled_back: why), at most 512 characters
   */
  'detail': (string);
  'requestedAtMs': (number);
  /**
   * Ed25519, identity key, over nodeNoticeProof(...)
   */
  'signature': (Buffer);
}
