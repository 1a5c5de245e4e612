// Original file: src/proto/node.proto

import type { OperationInput as _anvil_node_v1_OperationInput, Operation as _anvil_node_v1_Operation } from '../../../anvil/node/v1/Operation.ts';
import type { Long } from '@grpc/proto-loader';

export interface ApplyConfigReplyInput {
  /**
   * kind apply-config (absent for a dry run)
   */
  'operation'?: (_anvil_node_v1_OperationInput | null);
  /**
   * key paths that change ("network.interfaces[0].addresses", "hostname"), never values
   */
  'changes'?: (string)[];
  /**
   * "live" | "reboot" | "dry-run"
   */
  'appliedAs'?: (string);
  'generation'?: (number | string | Long);
}

export interface ApplyConfigReply {
  /**
   * kind apply-config (absent for a dry run)
   */
  'operation': (_anvil_node_v1_Operation | null);
  /**
   * key paths that change ("network.interfaces[0].addresses", "hostname"), never values
   */
  'changes': (string)[];
  /**
   * "live" | "reboot" | "dry-run"
   */
  'appliedAs': (string);
  'generation': (number);
}
