// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface LogLineInput {
  /**
   * Unix ms
   */
  'timeMs'?: (number | string | Long);
  /**
   * "kernel" or the service id
   */
  'source'?: (string);
  /**
   * one line, control characters removed
   */
  'text'?: (string);
  /**
   * syslog priority (kernel lines); 6 for service output
   */
  'priority'?: (number);
}

export interface LogLine {
  /**
   * Unix ms
   */
  'timeMs': (number);
  /**
   * "kernel" or the service id
   */
  'source': (string);
  /**
   * one line, control characters removed
   */
  'text': (string);
  /**
   * syslog priority (kernel lines); 6 for service output
   */
  'priority': (number);
}
