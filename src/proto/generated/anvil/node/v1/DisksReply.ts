// Original file: src/proto/node.proto

import type { DiskInput as _anvil_node_v1_DiskInput, Disk as _anvil_node_v1_Disk } from '../../../anvil/node/v1/Disk.ts';

export interface DisksReplyInput {
  'disks'?: (_anvil_node_v1_DiskInput)[];
}

export interface DisksReply {
  'disks': (_anvil_node_v1_Disk)[];
}
