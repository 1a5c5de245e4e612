// Original file: src/proto/node.proto

import type { OperationInput as _anvil_node_v1_OperationInput, Operation as _anvil_node_v1_Operation } from '../../../anvil/node/v1/Operation.ts';

export interface OperationsReplyInput {
  'operations'?: (_anvil_node_v1_OperationInput)[];
}

export interface OperationsReply {
  'operations': (_anvil_node_v1_Operation)[];
}
