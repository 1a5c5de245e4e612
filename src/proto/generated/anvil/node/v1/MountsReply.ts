// Original file: src/proto/node.proto

import type { MountInput as _anvil_node_v1_MountInput, Mount as _anvil_node_v1_Mount } from '../../../anvil/node/v1/Mount.ts';

export interface MountsReplyInput {
  'mounts'?: (_anvil_node_v1_MountInput)[];
}

export interface MountsReply {
  'mounts': (_anvil_node_v1_Mount)[];
}
