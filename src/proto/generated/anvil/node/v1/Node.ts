// Original file: src/proto/node.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DisksReplyInput as _anvil_node_v1_DisksReplyInput, DisksReply as _anvil_node_v1_DisksReply } from '../../../anvil/node/v1/DisksReply.ts';
import type { DisksRequestInput as _anvil_node_v1_DisksRequestInput, DisksRequest as _anvil_node_v1_DisksRequest } from '../../../anvil/node/v1/DisksRequest.ts';
import type { DmesgRequestInput as _anvil_node_v1_DmesgRequestInput, DmesgRequest as _anvil_node_v1_DmesgRequest } from '../../../anvil/node/v1/DmesgRequest.ts';
import type { LogLineInput as _anvil_node_v1_LogLineInput, LogLine as _anvil_node_v1_LogLine } from '../../../anvil/node/v1/LogLine.ts';
import type { LogsRequestInput as _anvil_node_v1_LogsRequestInput, LogsRequest as _anvil_node_v1_LogsRequest } from '../../../anvil/node/v1/LogsRequest.ts';
import type { MemoryReplyInput as _anvil_node_v1_MemoryReplyInput, MemoryReply as _anvil_node_v1_MemoryReply } from '../../../anvil/node/v1/MemoryReply.ts';
import type { MemoryRequestInput as _anvil_node_v1_MemoryRequestInput, MemoryRequest as _anvil_node_v1_MemoryRequest } from '../../../anvil/node/v1/MemoryRequest.ts';
import type { MountsReplyInput as _anvil_node_v1_MountsReplyInput, MountsReply as _anvil_node_v1_MountsReply } from '../../../anvil/node/v1/MountsReply.ts';
import type { MountsRequestInput as _anvil_node_v1_MountsRequestInput, MountsRequest as _anvil_node_v1_MountsRequest } from '../../../anvil/node/v1/MountsRequest.ts';
import type { OperationReplyInput as _anvil_node_v1_OperationReplyInput, OperationReply as _anvil_node_v1_OperationReply } from '../../../anvil/node/v1/OperationReply.ts';
import type { ProcessesReplyInput as _anvil_node_v1_ProcessesReplyInput, ProcessesReply as _anvil_node_v1_ProcessesReply } from '../../../anvil/node/v1/ProcessesReply.ts';
import type { ProcessesRequestInput as _anvil_node_v1_ProcessesRequestInput, ProcessesRequest as _anvil_node_v1_ProcessesRequest } from '../../../anvil/node/v1/ProcessesRequest.ts';
import type { RebootRequestInput as _anvil_node_v1_RebootRequestInput, RebootRequest as _anvil_node_v1_RebootRequest } from '../../../anvil/node/v1/RebootRequest.ts';
import type { ServicesReplyInput as _anvil_node_v1_ServicesReplyInput, ServicesReply as _anvil_node_v1_ServicesReply } from '../../../anvil/node/v1/ServicesReply.ts';
import type { ServicesRequestInput as _anvil_node_v1_ServicesRequestInput, ServicesRequest as _anvil_node_v1_ServicesRequest } from '../../../anvil/node/v1/ServicesRequest.ts';
import type { ShutdownRequestInput as _anvil_node_v1_ShutdownRequestInput, ShutdownRequest as _anvil_node_v1_ShutdownRequest } from '../../../anvil/node/v1/ShutdownRequest.ts';
import type { VersionReplyInput as _anvil_node_v1_VersionReplyInput, VersionReply as _anvil_node_v1_VersionReply } from '../../../anvil/node/v1/VersionReply.ts';
import type { VersionRequestInput as _anvil_node_v1_VersionRequestInput, VersionRequest as _anvil_node_v1_VersionRequest } from '../../../anvil/node/v1/VersionRequest.ts';

export interface NodeClient extends grpc.Client {
  Disks(argument: _anvil_node_v1_DisksRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_DisksReply>): grpc.ClientUnaryCall;
  Disks(argument: _anvil_node_v1_DisksRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_DisksReply>): grpc.ClientUnaryCall;
  Disks(argument: _anvil_node_v1_DisksRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_DisksReply>): grpc.ClientUnaryCall;
  Disks(argument: _anvil_node_v1_DisksRequestInput, callback: grpc.requestCallback<_anvil_node_v1_DisksReply>): grpc.ClientUnaryCall;
  disks(argument: _anvil_node_v1_DisksRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_DisksReply>): grpc.ClientUnaryCall;
  disks(argument: _anvil_node_v1_DisksRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_DisksReply>): grpc.ClientUnaryCall;
  disks(argument: _anvil_node_v1_DisksRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_DisksReply>): grpc.ClientUnaryCall;
  disks(argument: _anvil_node_v1_DisksRequestInput, callback: grpc.requestCallback<_anvil_node_v1_DisksReply>): grpc.ClientUnaryCall;
  
  /**
   * The kernel log (/dev/kmsg): the last `tail` lines, then, with `follow`, new ones as they come.
   */
  Dmesg(argument: _anvil_node_v1_DmesgRequestInput, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_anvil_node_v1_LogLine>;
  Dmesg(argument: _anvil_node_v1_DmesgRequestInput, options?: grpc.CallOptions): grpc.ClientReadableStream<_anvil_node_v1_LogLine>;
  /**
   * The kernel log (/dev/kmsg): the last `tail` lines, then, with `follow`, new ones as they come.
   */
  dmesg(argument: _anvil_node_v1_DmesgRequestInput, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_anvil_node_v1_LogLine>;
  dmesg(argument: _anvil_node_v1_DmesgRequestInput, options?: grpc.CallOptions): grpc.ClientReadableStream<_anvil_node_v1_LogLine>;
  
  /**
   * One service's output (its ring buffer), as Dmesg.
   */
  Logs(argument: _anvil_node_v1_LogsRequestInput, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_anvil_node_v1_LogLine>;
  Logs(argument: _anvil_node_v1_LogsRequestInput, options?: grpc.CallOptions): grpc.ClientReadableStream<_anvil_node_v1_LogLine>;
  /**
   * One service's output (its ring buffer), as Dmesg.
   */
  logs(argument: _anvil_node_v1_LogsRequestInput, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_anvil_node_v1_LogLine>;
  logs(argument: _anvil_node_v1_LogsRequestInput, options?: grpc.CallOptions): grpc.ClientReadableStream<_anvil_node_v1_LogLine>;
  
  Memory(argument: _anvil_node_v1_MemoryRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_MemoryReply>): grpc.ClientUnaryCall;
  Memory(argument: _anvil_node_v1_MemoryRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_MemoryReply>): grpc.ClientUnaryCall;
  Memory(argument: _anvil_node_v1_MemoryRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_MemoryReply>): grpc.ClientUnaryCall;
  Memory(argument: _anvil_node_v1_MemoryRequestInput, callback: grpc.requestCallback<_anvil_node_v1_MemoryReply>): grpc.ClientUnaryCall;
  memory(argument: _anvil_node_v1_MemoryRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_MemoryReply>): grpc.ClientUnaryCall;
  memory(argument: _anvil_node_v1_MemoryRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_MemoryReply>): grpc.ClientUnaryCall;
  memory(argument: _anvil_node_v1_MemoryRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_MemoryReply>): grpc.ClientUnaryCall;
  memory(argument: _anvil_node_v1_MemoryRequestInput, callback: grpc.requestCallback<_anvil_node_v1_MemoryReply>): grpc.ClientUnaryCall;
  
  Mounts(argument: _anvil_node_v1_MountsRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_MountsReply>): grpc.ClientUnaryCall;
  Mounts(argument: _anvil_node_v1_MountsRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_MountsReply>): grpc.ClientUnaryCall;
  Mounts(argument: _anvil_node_v1_MountsRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_MountsReply>): grpc.ClientUnaryCall;
  Mounts(argument: _anvil_node_v1_MountsRequestInput, callback: grpc.requestCallback<_anvil_node_v1_MountsReply>): grpc.ClientUnaryCall;
  mounts(argument: _anvil_node_v1_MountsRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_MountsReply>): grpc.ClientUnaryCall;
  mounts(argument: _anvil_node_v1_MountsRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_MountsReply>): grpc.ClientUnaryCall;
  mounts(argument: _anvil_node_v1_MountsRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_MountsReply>): grpc.ClientUnaryCall;
  mounts(argument: _anvil_node_v1_MountsRequestInput, callback: grpc.requestCallback<_anvil_node_v1_MountsReply>): grpc.ClientUnaryCall;
  
  Processes(argument: _anvil_node_v1_ProcessesRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ProcessesReply>): grpc.ClientUnaryCall;
  Processes(argument: _anvil_node_v1_ProcessesRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_ProcessesReply>): grpc.ClientUnaryCall;
  Processes(argument: _anvil_node_v1_ProcessesRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ProcessesReply>): grpc.ClientUnaryCall;
  Processes(argument: _anvil_node_v1_ProcessesRequestInput, callback: grpc.requestCallback<_anvil_node_v1_ProcessesReply>): grpc.ClientUnaryCall;
  processes(argument: _anvil_node_v1_ProcessesRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ProcessesReply>): grpc.ClientUnaryCall;
  processes(argument: _anvil_node_v1_ProcessesRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_ProcessesReply>): grpc.ClientUnaryCall;
  processes(argument: _anvil_node_v1_ProcessesRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ProcessesReply>): grpc.ClientUnaryCall;
  processes(argument: _anvil_node_v1_ProcessesRequestInput, callback: grpc.requestCallback<_anvil_node_v1_ProcessesReply>): grpc.ClientUnaryCall;
  
  /**
   * Services stopped, disks synced, then the machine reboots (or powers off). Answered before it
   * happens, with the operation's id.
   */
  Reboot(argument: _anvil_node_v1_RebootRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Reboot(argument: _anvil_node_v1_RebootRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Reboot(argument: _anvil_node_v1_RebootRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Reboot(argument: _anvil_node_v1_RebootRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  /**
   * Services stopped, disks synced, then the machine reboots (or powers off). Answered before it
   * happens, with the operation's id.
   */
  reboot(argument: _anvil_node_v1_RebootRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  reboot(argument: _anvil_node_v1_RebootRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  reboot(argument: _anvil_node_v1_RebootRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  reboot(argument: _anvil_node_v1_RebootRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  
  Services(argument: _anvil_node_v1_ServicesRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ServicesReply>): grpc.ClientUnaryCall;
  Services(argument: _anvil_node_v1_ServicesRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_ServicesReply>): grpc.ClientUnaryCall;
  Services(argument: _anvil_node_v1_ServicesRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ServicesReply>): grpc.ClientUnaryCall;
  Services(argument: _anvil_node_v1_ServicesRequestInput, callback: grpc.requestCallback<_anvil_node_v1_ServicesReply>): grpc.ClientUnaryCall;
  services(argument: _anvil_node_v1_ServicesRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ServicesReply>): grpc.ClientUnaryCall;
  services(argument: _anvil_node_v1_ServicesRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_ServicesReply>): grpc.ClientUnaryCall;
  services(argument: _anvil_node_v1_ServicesRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ServicesReply>): grpc.ClientUnaryCall;
  services(argument: _anvil_node_v1_ServicesRequestInput, callback: grpc.requestCallback<_anvil_node_v1_ServicesReply>): grpc.ClientUnaryCall;
  
  Shutdown(argument: _anvil_node_v1_ShutdownRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Shutdown(argument: _anvil_node_v1_ShutdownRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Shutdown(argument: _anvil_node_v1_ShutdownRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Shutdown(argument: _anvil_node_v1_ShutdownRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  shutdown(argument: _anvil_node_v1_ShutdownRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  shutdown(argument: _anvil_node_v1_ShutdownRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  shutdown(argument: _anvil_node_v1_ShutdownRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  shutdown(argument: _anvil_node_v1_ShutdownRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  
  Version(argument: _anvil_node_v1_VersionRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_VersionReply>): grpc.ClientUnaryCall;
  Version(argument: _anvil_node_v1_VersionRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_VersionReply>): grpc.ClientUnaryCall;
  Version(argument: _anvil_node_v1_VersionRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_VersionReply>): grpc.ClientUnaryCall;
  Version(argument: _anvil_node_v1_VersionRequestInput, callback: grpc.requestCallback<_anvil_node_v1_VersionReply>): grpc.ClientUnaryCall;
  version(argument: _anvil_node_v1_VersionRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_VersionReply>): grpc.ClientUnaryCall;
  version(argument: _anvil_node_v1_VersionRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_VersionReply>): grpc.ClientUnaryCall;
  version(argument: _anvil_node_v1_VersionRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_VersionReply>): grpc.ClientUnaryCall;
  version(argument: _anvil_node_v1_VersionRequestInput, callback: grpc.requestCallback<_anvil_node_v1_VersionReply>): grpc.ClientUnaryCall;
  
}

export interface NodeHandlers extends grpc.UntypedServiceImplementation {
  Disks: grpc.handleUnaryCall<_anvil_node_v1_DisksRequest, _anvil_node_v1_DisksReplyInput>;
  
  /**
   * The kernel log (/dev/kmsg): the last `tail` lines, then, with `follow`, new ones as they come.
   */
  Dmesg: grpc.handleServerStreamingCall<_anvil_node_v1_DmesgRequest, _anvil_node_v1_LogLineInput>;
  
  /**
   * One service's output (its ring buffer), as Dmesg.
   */
  Logs: grpc.handleServerStreamingCall<_anvil_node_v1_LogsRequest, _anvil_node_v1_LogLineInput>;
  
  Memory: grpc.handleUnaryCall<_anvil_node_v1_MemoryRequest, _anvil_node_v1_MemoryReplyInput>;
  
  Mounts: grpc.handleUnaryCall<_anvil_node_v1_MountsRequest, _anvil_node_v1_MountsReplyInput>;
  
  Processes: grpc.handleUnaryCall<_anvil_node_v1_ProcessesRequest, _anvil_node_v1_ProcessesReplyInput>;
  
  /**
   * Services stopped, disks synced, then the machine reboots (or powers off). Answered before it
   * happens, with the operation's id.
   */
  Reboot: grpc.handleUnaryCall<_anvil_node_v1_RebootRequest, _anvil_node_v1_OperationReplyInput>;
  
  Services: grpc.handleUnaryCall<_anvil_node_v1_ServicesRequest, _anvil_node_v1_ServicesReplyInput>;
  
  Shutdown: grpc.handleUnaryCall<_anvil_node_v1_ShutdownRequest, _anvil_node_v1_OperationReplyInput>;
  
  Version: grpc.handleUnaryCall<_anvil_node_v1_VersionRequest, _anvil_node_v1_VersionReplyInput>;
  
}

export interface NodeDefinition extends grpc.ServiceDefinition {
  Disks: MethodDefinition<_anvil_node_v1_DisksRequestInput, _anvil_node_v1_DisksReplyInput, _anvil_node_v1_DisksRequest, _anvil_node_v1_DisksReply>
  Dmesg: MethodDefinition<_anvil_node_v1_DmesgRequestInput, _anvil_node_v1_LogLineInput, _anvil_node_v1_DmesgRequest, _anvil_node_v1_LogLine>
  Logs: MethodDefinition<_anvil_node_v1_LogsRequestInput, _anvil_node_v1_LogLineInput, _anvil_node_v1_LogsRequest, _anvil_node_v1_LogLine>
  Memory: MethodDefinition<_anvil_node_v1_MemoryRequestInput, _anvil_node_v1_MemoryReplyInput, _anvil_node_v1_MemoryRequest, _anvil_node_v1_MemoryReply>
  Mounts: MethodDefinition<_anvil_node_v1_MountsRequestInput, _anvil_node_v1_MountsReplyInput, _anvil_node_v1_MountsRequest, _anvil_node_v1_MountsReply>
  Processes: MethodDefinition<_anvil_node_v1_ProcessesRequestInput, _anvil_node_v1_ProcessesReplyInput, _anvil_node_v1_ProcessesRequest, _anvil_node_v1_ProcessesReply>
  Reboot: MethodDefinition<_anvil_node_v1_RebootRequestInput, _anvil_node_v1_OperationReplyInput, _anvil_node_v1_RebootRequest, _anvil_node_v1_OperationReply>
  Services: MethodDefinition<_anvil_node_v1_ServicesRequestInput, _anvil_node_v1_ServicesReplyInput, _anvil_node_v1_ServicesRequest, _anvil_node_v1_ServicesReply>
  Shutdown: MethodDefinition<_anvil_node_v1_ShutdownRequestInput, _anvil_node_v1_OperationReplyInput, _anvil_node_v1_ShutdownRequest, _anvil_node_v1_OperationReply>
  Version: MethodDefinition<_anvil_node_v1_VersionRequestInput, _anvil_node_v1_VersionReplyInput, _anvil_node_v1_VersionRequest, _anvil_node_v1_VersionReply>
}
