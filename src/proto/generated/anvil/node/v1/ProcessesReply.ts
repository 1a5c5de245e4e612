// Original file: src/proto/node.proto

import type { ProcessInput as _anvil_node_v1_ProcessInput, Process as _anvil_node_v1_Process } from '../../../anvil/node/v1/Process.ts';

export interface ProcessesReplyInput {
  'processes'?: (_anvil_node_v1_ProcessInput)[];
}

export interface ProcessesReply {
  'processes': (_anvil_node_v1_Process)[];
}
