// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface ProcessInput {
  'pid'?: (number);
  'ppid'?: (number);
  /**
   * proc/PID/comm
   */
  'command'?: (string);
  /**
   * proc/PID/cmdline, at most 64 arguments of 256 characters
   */
  'args'?: (string)[];
  /**
   * R, S, D, Z, ...
   */
  'state'?: (string);
  'rssBytes'?: (number | string | Long);
  /**
   * utime + stime
   */
  'cpuSeconds'?: (number | string);
  'threads'?: (number);
}

export interface Process {
  'pid': (number);
  'ppid': (number);
  /**
   * proc/PID/comm
   */
  'command': (string);
  /**
   * proc/PID/cmdline, at most 64 arguments of 256 characters
   */
  'args': (string)[];
  /**
   * R, S, D, Z, ...
   */
  'state': (string);
  'rssBytes': (number);
  /**
   * utime + stime
   */
  'cpuSeconds': (number);
  'threads': (number);
}
