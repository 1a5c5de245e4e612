import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ApplyConfigReplyInput as _anvil_node_v1_ApplyConfigReplyInput, ApplyConfigReply as _anvil_node_v1_ApplyConfigReply } from './anvil/node/v1/ApplyConfigReply.ts';
import type { ApplyConfigRequestInput as _anvil_node_v1_ApplyConfigRequestInput, ApplyConfigRequest as _anvil_node_v1_ApplyConfigRequest } from './anvil/node/v1/ApplyConfigRequest.ts';
import type { DiskInput as _anvil_node_v1_DiskInput, Disk as _anvil_node_v1_Disk } from './anvil/node/v1/Disk.ts';
import type { DisksReplyInput as _anvil_node_v1_DisksReplyInput, DisksReply as _anvil_node_v1_DisksReply } from './anvil/node/v1/DisksReply.ts';
import type { DisksRequestInput as _anvil_node_v1_DisksRequestInput, DisksRequest as _anvil_node_v1_DisksRequest } from './anvil/node/v1/DisksRequest.ts';
import type { DmesgRequestInput as _anvil_node_v1_DmesgRequestInput, DmesgRequest as _anvil_node_v1_DmesgRequest } from './anvil/node/v1/DmesgRequest.ts';
import type { GetOperationRequestInput as _anvil_node_v1_GetOperationRequestInput, GetOperationRequest as _anvil_node_v1_GetOperationRequest } from './anvil/node/v1/GetOperationRequest.ts';
import type { LogLineInput as _anvil_node_v1_LogLineInput, LogLine as _anvil_node_v1_LogLine } from './anvil/node/v1/LogLine.ts';
import type { LogsRequestInput as _anvil_node_v1_LogsRequestInput, LogsRequest as _anvil_node_v1_LogsRequest } from './anvil/node/v1/LogsRequest.ts';
import type { MemoryReplyInput as _anvil_node_v1_MemoryReplyInput, MemoryReply as _anvil_node_v1_MemoryReply } from './anvil/node/v1/MemoryReply.ts';
import type { MemoryRequestInput as _anvil_node_v1_MemoryRequestInput, MemoryRequest as _anvil_node_v1_MemoryRequest } from './anvil/node/v1/MemoryRequest.ts';
import type { MountInput as _anvil_node_v1_MountInput, Mount as _anvil_node_v1_Mount } from './anvil/node/v1/Mount.ts';
import type { MountsReplyInput as _anvil_node_v1_MountsReplyInput, MountsReply as _anvil_node_v1_MountsReply } from './anvil/node/v1/MountsReply.ts';
import type { MountsRequestInput as _anvil_node_v1_MountsRequestInput, MountsRequest as _anvil_node_v1_MountsRequest } from './anvil/node/v1/MountsRequest.ts';
import type { NodeClient as _anvil_node_v1_NodeClient, NodeDefinition as _anvil_node_v1_NodeDefinition } from './anvil/node/v1/Node.ts';
import type { OperationInput as _anvil_node_v1_OperationInput, Operation as _anvil_node_v1_Operation } from './anvil/node/v1/Operation.ts';
import type { OperationReplyInput as _anvil_node_v1_OperationReplyInput, OperationReply as _anvil_node_v1_OperationReply } from './anvil/node/v1/OperationReply.ts';
import type { OperationsReplyInput as _anvil_node_v1_OperationsReplyInput, OperationsReply as _anvil_node_v1_OperationsReply } from './anvil/node/v1/OperationsReply.ts';
import type { OperationsRequestInput as _anvil_node_v1_OperationsRequestInput, OperationsRequest as _anvil_node_v1_OperationsRequest } from './anvil/node/v1/OperationsRequest.ts';
import type { PartitionInput as _anvil_node_v1_PartitionInput, Partition as _anvil_node_v1_Partition } from './anvil/node/v1/Partition.ts';
import type { ProcessInput as _anvil_node_v1_ProcessInput, Process as _anvil_node_v1_Process } from './anvil/node/v1/Process.ts';
import type { ProcessesReplyInput as _anvil_node_v1_ProcessesReplyInput, ProcessesReply as _anvil_node_v1_ProcessesReply } from './anvil/node/v1/ProcessesReply.ts';
import type { ProcessesRequestInput as _anvil_node_v1_ProcessesRequestInput, ProcessesRequest as _anvil_node_v1_ProcessesRequest } from './anvil/node/v1/ProcessesRequest.ts';
import type { RebootRequestInput as _anvil_node_v1_RebootRequestInput, RebootRequest as _anvil_node_v1_RebootRequest } from './anvil/node/v1/RebootRequest.ts';
import type { ResetRequestInput as _anvil_node_v1_ResetRequestInput, ResetRequest as _anvil_node_v1_ResetRequest } from './anvil/node/v1/ResetRequest.ts';
import type { RollbackRequestInput as _anvil_node_v1_RollbackRequestInput, RollbackRequest as _anvil_node_v1_RollbackRequest } from './anvil/node/v1/RollbackRequest.ts';
import type { ServiceInput as _anvil_node_v1_ServiceInput, Service as _anvil_node_v1_Service } from './anvil/node/v1/Service.ts';
import type { ServicesReplyInput as _anvil_node_v1_ServicesReplyInput, ServicesReply as _anvil_node_v1_ServicesReply } from './anvil/node/v1/ServicesReply.ts';
import type { ServicesRequestInput as _anvil_node_v1_ServicesRequestInput, ServicesRequest as _anvil_node_v1_ServicesRequest } from './anvil/node/v1/ServicesRequest.ts';
import type { ShutdownRequestInput as _anvil_node_v1_ShutdownRequestInput, ShutdownRequest as _anvil_node_v1_ShutdownRequest } from './anvil/node/v1/ShutdownRequest.ts';
import type { UpgradeRequestInput as _anvil_node_v1_UpgradeRequestInput, UpgradeRequest as _anvil_node_v1_UpgradeRequest } from './anvil/node/v1/UpgradeRequest.ts';
import type { VersionReplyInput as _anvil_node_v1_VersionReplyInput, VersionReply as _anvil_node_v1_VersionReply } from './anvil/node/v1/VersionReply.ts';
import type { VersionRequestInput as _anvil_node_v1_VersionRequestInput, VersionRequest as _anvil_node_v1_VersionRequest } from './anvil/node/v1/VersionRequest.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  anvil: {
    node: {
      v1: {
        ApplyConfigReply: MessageTypeDefinition<_anvil_node_v1_ApplyConfigReplyInput, _anvil_node_v1_ApplyConfigReply>
        ApplyConfigRequest: MessageTypeDefinition<_anvil_node_v1_ApplyConfigRequestInput, _anvil_node_v1_ApplyConfigRequest>
        Disk: MessageTypeDefinition<_anvil_node_v1_DiskInput, _anvil_node_v1_Disk>
        DisksReply: MessageTypeDefinition<_anvil_node_v1_DisksReplyInput, _anvil_node_v1_DisksReply>
        DisksRequest: MessageTypeDefinition<_anvil_node_v1_DisksRequestInput, _anvil_node_v1_DisksRequest>
        DmesgRequest: MessageTypeDefinition<_anvil_node_v1_DmesgRequestInput, _anvil_node_v1_DmesgRequest>
        GetOperationRequest: MessageTypeDefinition<_anvil_node_v1_GetOperationRequestInput, _anvil_node_v1_GetOperationRequest>
        LogLine: MessageTypeDefinition<_anvil_node_v1_LogLineInput, _anvil_node_v1_LogLine>
        LogsRequest: MessageTypeDefinition<_anvil_node_v1_LogsRequestInput, _anvil_node_v1_LogsRequest>
        MemoryReply: MessageTypeDefinition<_anvil_node_v1_MemoryReplyInput, _anvil_node_v1_MemoryReply>
        MemoryRequest: MessageTypeDefinition<_anvil_node_v1_MemoryRequestInput, _anvil_node_v1_MemoryRequest>
        Mount: MessageTypeDefinition<_anvil_node_v1_MountInput, _anvil_node_v1_Mount>
        MountsReply: MessageTypeDefinition<_anvil_node_v1_MountsReplyInput, _anvil_node_v1_MountsReply>
        MountsRequest: MessageTypeDefinition<_anvil_node_v1_MountsRequestInput, _anvil_node_v1_MountsRequest>
        Node: SubtypeConstructor<typeof grpc.Client, _anvil_node_v1_NodeClient> & { service: _anvil_node_v1_NodeDefinition }
        Operation: MessageTypeDefinition<_anvil_node_v1_OperationInput, _anvil_node_v1_Operation>
        OperationReply: MessageTypeDefinition<_anvil_node_v1_OperationReplyInput, _anvil_node_v1_OperationReply>
        OperationsReply: MessageTypeDefinition<_anvil_node_v1_OperationsReplyInput, _anvil_node_v1_OperationsReply>
        OperationsRequest: MessageTypeDefinition<_anvil_node_v1_OperationsRequestInput, _anvil_node_v1_OperationsRequest>
        Partition: MessageTypeDefinition<_anvil_node_v1_PartitionInput, _anvil_node_v1_Partition>
        Process: MessageTypeDefinition<_anvil_node_v1_ProcessInput, _anvil_node_v1_Process>
        ProcessesReply: MessageTypeDefinition<_anvil_node_v1_ProcessesReplyInput, _anvil_node_v1_ProcessesReply>
        ProcessesRequest: MessageTypeDefinition<_anvil_node_v1_ProcessesRequestInput, _anvil_node_v1_ProcessesRequest>
        RebootRequest: MessageTypeDefinition<_anvil_node_v1_RebootRequestInput, _anvil_node_v1_RebootRequest>
        ResetRequest: MessageTypeDefinition<_anvil_node_v1_ResetRequestInput, _anvil_node_v1_ResetRequest>
        RollbackRequest: MessageTypeDefinition<_anvil_node_v1_RollbackRequestInput, _anvil_node_v1_RollbackRequest>
        Service: MessageTypeDefinition<_anvil_node_v1_ServiceInput, _anvil_node_v1_Service>
        ServicesReply: MessageTypeDefinition<_anvil_node_v1_ServicesReplyInput, _anvil_node_v1_ServicesReply>
        ServicesRequest: MessageTypeDefinition<_anvil_node_v1_ServicesRequestInput, _anvil_node_v1_ServicesRequest>
        ShutdownRequest: MessageTypeDefinition<_anvil_node_v1_ShutdownRequestInput, _anvil_node_v1_ShutdownRequest>
        UpgradeRequest: MessageTypeDefinition<_anvil_node_v1_UpgradeRequestInput, _anvil_node_v1_UpgradeRequest>
        VersionReply: MessageTypeDefinition<_anvil_node_v1_VersionReplyInput, _anvil_node_v1_VersionReply>
        VersionRequest: MessageTypeDefinition<_anvil_node_v1_VersionRequestInput, _anvil_node_v1_VersionRequest>
      }
    }
  }
}

