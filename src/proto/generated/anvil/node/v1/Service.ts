// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface ServiceInput {
  /**
   * machined, apid, trustd, and the services the config asks for
   */
  'id'?: (string);
  /**
   * starting | running | backoff | stopped | failed
   */
  'state'?: (string);
  /**
   * 0 when not running
   */
  'pid'?: (number);
  'restarts'?: (number);
  /**
   * this run's start, Unix ms (0 when not running)
   */
  'startedAtMs'?: (number | string | Long);
  /**
   * healthy | unhealthy | unknown
   */
  'health'?: (string);
  /**
   * how the last run ended ("exit 1", "signal SIGKILL"), "" if none
   */
  'lastExit'?: (string);
}

export interface Service {
  /**
   * machined, apid, trustd, and the services the config asks for
   */
  'id': (string);
  /**
   * starting | running | backoff | stopped | failed
   */
  'state': (string);
  /**
   * 0 when not running
   */
  'pid': (number);
  'restarts': (number);
  /**
   * this run's start, Unix ms (0 when not running)
   */
  'startedAtMs': (number);
  /**
   * healthy | unhealthy | unknown
   */
  'health': (string);
  /**
   * how the last run ended ("exit 1", "signal SIGKILL"), "" if none
   */
  'lastExit': (string);
}
