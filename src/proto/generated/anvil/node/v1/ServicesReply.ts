// Original file: src/proto/node.proto

import type { ServiceInput as _anvil_node_v1_ServiceInput, Service as _anvil_node_v1_Service } from '../../../anvil/node/v1/Service.ts';

export interface ServicesReplyInput {
  'services'?: (_anvil_node_v1_ServiceInput)[];
}

export interface ServicesReply {
  'services': (_anvil_node_v1_Service)[];
}
