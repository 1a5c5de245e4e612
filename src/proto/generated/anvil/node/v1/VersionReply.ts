// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface VersionReplyInput {
  'machineId'?: (string);
  'hostname'?: (string);
  /**
   * from STATE: what was installed into the running slot
   */
  'imageName'?: (string);
  'imageVersion'?: (string);
  /**
   * "A" | "B": anvil.slot on the kernel command line
   */
  'slot'?: (string);
  'configGeneration'?: (number | string | Long);
  /**
   * proc/sys/kernel/osrelease
   */
  'kernel'?: (string);
  /**
   * process.version of machined
   */
  'nodeJs'?: (string);
  'arch'?: (string);
  /**
   * proc/sys/kernel/random/boot_id
   */
  'bootId'?: (string);
  /**
   * proc/uptime
   */
  'uptimeSeconds'?: (number | string);
}

export interface VersionReply {
  'machineId': (string);
  'hostname': (string);
  /**
   * from STATE: what was installed into the running slot
   */
  'imageName': (string);
  'imageVersion': (string);
  /**
   * "A" | "B": anvil.slot on the kernel command line
   */
  'slot': (string);
  'configGeneration': (number);
  /**
   * proc/sys/kernel/osrelease
   */
  'kernel': (string);
  /**
   * process.version of machined
   */
  'nodeJs': (string);
  'arch': (string);
  /**
   * proc/sys/kernel/random/boot_id
   */
  'bootId': (string);
  /**
   * proc/uptime
   */
  'uptimeSeconds': (number);
}
