// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface WelcomeInput {
  'machineId'?: (string);
  /**
   * Stable over the session's streams; tasks are handed to it and only it may report on them.
   */
  'sessionId'?: (string);
  /**
   * Present it as `authorization: Session <credential>` on the next stream of this session. A
   * fresh one on every Welcome; the one presented stays valid until the fresh one is used.
   */
  'credential'?: (string);
  /**
   * How long the credential stays valid from now, in ms (a relative time: the boot environment's
   * clock may be wrong). The server extends it while the stream is live.
   */
  'credentialTtlMs'?: (number | string | Long);
  /**
   * True when this stream continues an earlier one of the same session.
   */
  'resumed'?: (boolean);
}

export interface Welcome {
  'machineId': (string);
  /**
   * Stable over the session's streams; tasks are handed to it and only it may report on them.
   */
  'sessionId': (string);
  /**
   * Present it as `authorization: Session <credential>` on the next stream of this session. A
   * fresh one on every Welcome; the one presented stays valid until the fresh one is used.
   */
  'credential': (string);
  /**
   * How long the credential stays valid from now, in ms (a relative time: the boot environment's
   * clock may be wrong). The server extends it while the stream is live.
   */
  'credentialTtlMs': (number);
  /**
   * True when this stream continues an earlier one of the same session.
   */
  'resumed': (boolean);
}
