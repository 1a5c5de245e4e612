// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeCertificateReplyInput {
  'certificatePem'?: (string);
  /**
   * Anvil's node CA: what clients of apid trust
   */
  'caPem'?: (string);
  'notAfterMs'?: (number | string | Long);
}

export interface NodeCertificateReply {
  'certificatePem': (string);
  /**
   * Anvil's node CA: what clients of apid trust
   */
  'caPem': (string);
  'notAfterMs': (number);
}
