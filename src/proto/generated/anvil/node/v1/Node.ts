// Original file: src/proto/node.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApplyConfigReplyInput as _anvil_node_v1_ApplyConfigReplyInput, ApplyConfigReply as _anvil_node_v1_ApplyConfigReply } from '../../../anvil/node/v1/ApplyConfigReply.ts';
import type { ApplyConfigRequestInput as _anvil_node_v1_ApplyConfigRequestInput, ApplyConfigRequest as _anvil_node_v1_ApplyConfigRequest } from '../../../anvil/node/v1/ApplyConfigRequest.ts';
import type { DisksReplyInput as _anvil_node_v1_DisksReplyInput, DisksReply as _anvil_node_v1_DisksReply } from '../../../anvil/node/v1/DisksReply.ts';
import type { DisksRequestInput as _anvil_node_v1_DisksRequestInput, DisksRequest as _anvil_node_v1_DisksRequest } from '../../../anvil/node/v1/DisksRequest.ts';
import type { DmesgRequestInput as _anvil_node_v1_DmesgRequestInput, DmesgRequest as _anvil_node_v1_DmesgRequest } from '../../../anvil/node/v1/DmesgRequest.ts';
import type { GetOperationRequestInput as _anvil_node_v1_GetOperationRequestInput, GetOperationRequest as _anvil_node_v1_GetOperationRequest } from '../../../anvil/node/v1/GetOperationRequest.ts';
import type { LogLineInput as _anvil_node_v1_LogLineInput, LogLine as _anvil_node_v1_LogLine } from '../../../anvil/node/v1/LogLine.ts';
import type { LogsRequestInput as _anvil_node_v1_LogsRequestInput, LogsRequest as _anvil_node_v1_LogsRequest } from '../../../anvil/node/v1/LogsRequest.ts';
import type { MemoryReplyInput as _anvil_node_v1_MemoryReplyInput, MemoryReply as _anvil_node_v1_MemoryReply } from '../../../anvil/node/v1/MemoryReply.ts';
import type { MemoryRequestInput as _anvil_node_v1_MemoryRequestInput, MemoryRequest as _anvil_node_v1_MemoryRequest } from '../../../anvil/node/v1/MemoryRequest.ts';
import type { MountsReplyInput as _anvil_node_v1_MountsReplyInput, MountsReply as _anvil_node_v1_MountsReply } from '../../../anvil/node/v1/MountsReply.ts';
import type { MountsRequestInput as _anvil_node_v1_MountsRequestInput, MountsRequest as _anvil_node_v1_MountsRequest } from '../../../anvil/node/v1/MountsRequest.ts';
import type { OperationReplyInput as _anvil_node_v1_OperationReplyInput, OperationReply as _anvil_node_v1_OperationReply } from '../../../anvil/node/v1/OperationReply.ts';
import type { OperationsReplyInput as _anvil_node_v1_OperationsReplyInput, OperationsReply as _anvil_node_v1_OperationsReply } from '../../../anvil/node/v1/OperationsReply.ts';
import type { OperationsRequestInput as _anvil_node_v1_OperationsRequestInput, OperationsRequest as _anvil_node_v1_OperationsRequest } from '../../../anvil/node/v1/OperationsRequest.ts';
import type { ProcessesReplyInput as _anvil_node_v1_ProcessesReplyInput, ProcessesReply as _anvil_node_v1_ProcessesReply } from '../../../anvil/node/v1/ProcessesReply.ts';
import type { ProcessesRequestInput as _anvil_node_v1_ProcessesRequestInput, ProcessesRequest as _anvil_node_v1_ProcessesRequest } from '../../../anvil/node/v1/ProcessesRequest.ts';
import type { RebootRequestInput as _anvil_node_v1_RebootRequestInput, RebootRequest as _anvil_node_v1_RebootRequest } from '../../../anvil/node/v1/RebootRequest.ts';
import type { ResetRequestInput as _anvil_node_v1_ResetRequestInput, ResetRequest as _anvil_node_v1_ResetRequest } from '../../../anvil/node/v1/ResetRequest.ts';
import type { RollbackRequestInput as _anvil_node_v1_RollbackRequestInput, RollbackRequest as _anvil_node_v1_RollbackRequest } from '../../../anvil/node/v1/RollbackRequest.ts';
import type { ServicesReplyInput as _anvil_node_v1_ServicesReplyInput, ServicesReply as _anvil_node_v1_ServicesReply } from '../../../anvil/node/v1/ServicesReply.ts';
import type { ServicesRequestInput as _anvil_node_v1_ServicesRequestInput, ServicesRequest as _anvil_node_v1_ServicesRequest } from '../../../anvil/node/v1/ServicesRequest.ts';
import type { ShutdownRequestInput as _anvil_node_v1_ShutdownRequestInput, ShutdownRequest as _anvil_node_v1_ShutdownRequest } from '../../../anvil/node/v1/ShutdownRequest.ts';
import type { UpgradeRequestInput as _anvil_node_v1_UpgradeRequestInput, UpgradeRequest as _anvil_node_v1_UpgradeRequest } from '../../../anvil/node/v1/UpgradeRequest.ts';
import type { VersionReplyInput as _anvil_node_v1_VersionReplyInput, VersionReply as _anvil_node_v1_VersionReply } from '../../../anvil/node/v1/VersionReply.ts';
import type { VersionRequestInput as _anvil_node_v1_VersionRequestInput, VersionRequest as _anvil_node_v1_VersionRequest } from '../../../anvil/node/v1/VersionRequest.ts';

export interface NodeClient extends grpc.Client {
  /**
   * (admin) A new signed machine config for this node: verified before anything changes (the
   * config key from STATE, this machine's id, a generation above the running one, not expired,
   * the schema), then applied by `mode`:
   * "no-reboot"  applied live (hostname, network, time servers, services) or refused when a
   * change needs a reboot (the install disk), nothing changed;
   * "reboot"     written to STATE, then a reboot;
   * "auto" ("")  live when it can, else written and rebooted;
   * "try"        applied live for try_timeout_s (0: 120 s), then the previous config comes back
   * by itself unless the same generation is applied again in another mode.
   * `dry_run`: only verified and compared; `changes` says what would change, nothing is applied.
   */
  ApplyConfig(argument: _anvil_node_v1_ApplyConfigRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ApplyConfigReply>): grpc.ClientUnaryCall;
  ApplyConfig(argument: _anvil_node_v1_ApplyConfigRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_ApplyConfigReply>): grpc.ClientUnaryCall;
  ApplyConfig(argument: _anvil_node_v1_ApplyConfigRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ApplyConfigReply>): grpc.ClientUnaryCall;
  ApplyConfig(argument: _anvil_node_v1_ApplyConfigRequestInput, callback: grpc.requestCallback<_anvil_node_v1_ApplyConfigReply>): grpc.ClientUnaryCall;
  /**
   * (admin) A new signed machine config for this node: verified before anything changes (the
   * config key from STATE, this machine's id, a generation above the running one, not expired,
   * the schema), then applied by `mode`:
   * "no-reboot"  applied live (hostname, network, time servers, services) or refused when a
   * change needs a reboot (the install disk), nothing changed;
   * "reboot"     written to STATE, then a reboot;
   * "auto" ("")  live when it can, else written and rebooted;
   * "try"        applied live for try_timeout_s (0: 120 s), then the previous config comes back
   * by itself unless the same generation is applied again in another mode.
   * `dry_run`: only verified and compared; `changes` says what would change, nothing is applied.
   */
  applyConfig(argument: _anvil_node_v1_ApplyConfigRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ApplyConfigReply>): grpc.ClientUnaryCall;
  applyConfig(argument: _anvil_node_v1_ApplyConfigRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_ApplyConfigReply>): grpc.ClientUnaryCall;
  applyConfig(argument: _anvil_node_v1_ApplyConfigRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_ApplyConfigReply>): grpc.ClientUnaryCall;
  applyConfig(argument: _anvil_node_v1_ApplyConfigRequestInput, callback: grpc.requestCallback<_anvil_node_v1_ApplyConfigReply>): grpc.ClientUnaryCall;
  
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
   * (reader) One operation by id; ERR_NOT_FOUND when the node has none by that id.
   */
  GetOperation(argument: _anvil_node_v1_GetOperationRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  GetOperation(argument: _anvil_node_v1_GetOperationRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  GetOperation(argument: _anvil_node_v1_GetOperationRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  GetOperation(argument: _anvil_node_v1_GetOperationRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  /**
   * (reader) One operation by id; ERR_NOT_FOUND when the node has none by that id.
   */
  getOperation(argument: _anvil_node_v1_GetOperationRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  getOperation(argument: _anvil_node_v1_GetOperationRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  getOperation(argument: _anvil_node_v1_GetOperationRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  getOperation(argument: _anvil_node_v1_GetOperationRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  
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
  
  /**
   * (reader) The node's operations, newest first (kept across reboots in STATE, at most 16).
   */
  Operations(argument: _anvil_node_v1_OperationsRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationsReply>): grpc.ClientUnaryCall;
  Operations(argument: _anvil_node_v1_OperationsRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationsReply>): grpc.ClientUnaryCall;
  Operations(argument: _anvil_node_v1_OperationsRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationsReply>): grpc.ClientUnaryCall;
  Operations(argument: _anvil_node_v1_OperationsRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationsReply>): grpc.ClientUnaryCall;
  /**
   * (reader) The node's operations, newest first (kept across reboots in STATE, at most 16).
   */
  operations(argument: _anvil_node_v1_OperationsRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationsReply>): grpc.ClientUnaryCall;
  operations(argument: _anvil_node_v1_OperationsRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationsReply>): grpc.ClientUnaryCall;
  operations(argument: _anvil_node_v1_OperationsRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationsReply>): grpc.ClientUnaryCall;
  operations(argument: _anvil_node_v1_OperationsRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationsReply>): grpc.ClientUnaryCall;
  
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
  
  /**
   * (admin) Makes the node leave its installed life: with `graceful`, services stopped first and
   * Anvil told (the machine goes provisioned → resetting → ready once the agent wiped the disk);
   * `wipe` says what the node itself erases before it reboots: "state" (the signed config and the
   * identity: the node can never report in again), "ephemeral", or "all" (default: STATE,
   * EPHEMERAL and both boot slots, so the firmware falls through to the network).
   */
  Reset(argument: _anvil_node_v1_ResetRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Reset(argument: _anvil_node_v1_ResetRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Reset(argument: _anvil_node_v1_ResetRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Reset(argument: _anvil_node_v1_ResetRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  /**
   * (admin) Makes the node leave its installed life: with `graceful`, services stopped first and
   * Anvil told (the machine goes provisioned → resetting → ready once the agent wiped the disk);
   * `wipe` says what the node itself erases before it reboots: "state" (the signed config and the
   * identity: the node can never report in again), "ephemeral", or "all" (default: STATE,
   * EPHEMERAL and both boot slots, so the firmware falls through to the network).
   */
  reset(argument: _anvil_node_v1_ResetRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  reset(argument: _anvil_node_v1_ResetRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  reset(argument: _anvil_node_v1_ResetRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  reset(argument: _anvil_node_v1_ResetRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  
  /**
   * (admin) The other slot, if it is committed, boots from the next boot on; then a reboot.
   * ERR_NODE_NO_ROLLBACK when the other slot was never committed (nothing to go back to).
   */
  Rollback(argument: _anvil_node_v1_RollbackRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Rollback(argument: _anvil_node_v1_RollbackRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Rollback(argument: _anvil_node_v1_RollbackRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Rollback(argument: _anvil_node_v1_RollbackRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  /**
   * (admin) The other slot, if it is committed, boots from the next boot on; then a reboot.
   * ERR_NODE_NO_ROLLBACK when the other slot was never committed (nothing to go back to).
   */
  rollback(argument: _anvil_node_v1_RollbackRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  rollback(argument: _anvil_node_v1_RollbackRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  rollback(argument: _anvil_node_v1_RollbackRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  rollback(argument: _anvil_node_v1_RollbackRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  
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
  
  /**
   * (admin) Writes the image into the slot that is not running, never the one GRUB boots by
   * default: the manifest verified with the image keys baked into the node (never keys from the
   * request), the artifact's frames fetched by Range from image_url (untrusted: every chunk checked
   * against the signed manifest before it is written, the slot read back after). Then the slot is
   * selected for ONE try (grubenv: order new-first, <new>_OK=0, <new>_LEFT=1) and the node reboots.
   * The new slot is committed only once machined and the services the config asks for are up and
   * Anvil answered (the health gate, within health_timeout_s); otherwise it reboots and GRUB boots
   * the old, committed slot: the operation ends rolled_back. One operation id across the reboot.
   * Refused: ERR_NODE_BUSY (another upgrade/reset/rollback is running), ERR_IMAGE_DOWNGRADE (a
   * lower security version, or an older/equal version without `force`), signature and manifest
   * errors as the install's.
   */
  Upgrade(argument: _anvil_node_v1_UpgradeRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Upgrade(argument: _anvil_node_v1_UpgradeRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Upgrade(argument: _anvil_node_v1_UpgradeRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  Upgrade(argument: _anvil_node_v1_UpgradeRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  /**
   * (admin) Writes the image into the slot that is not running, never the one GRUB boots by
   * default: the manifest verified with the image keys baked into the node (never keys from the
   * request), the artifact's frames fetched by Range from image_url (untrusted: every chunk checked
   * against the signed manifest before it is written, the slot read back after). Then the slot is
   * selected for ONE try (grubenv: order new-first, <new>_OK=0, <new>_LEFT=1) and the node reboots.
   * The new slot is committed only once machined and the services the config asks for are up and
   * Anvil answered (the health gate, within health_timeout_s); otherwise it reboots and GRUB boots
   * the old, committed slot: the operation ends rolled_back. One operation id across the reboot.
   * Refused: ERR_NODE_BUSY (another upgrade/reset/rollback is running), ERR_IMAGE_DOWNGRADE (a
   * lower security version, or an older/equal version without `force`), signature and manifest
   * errors as the install's.
   */
  upgrade(argument: _anvil_node_v1_UpgradeRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  upgrade(argument: _anvil_node_v1_UpgradeRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  upgrade(argument: _anvil_node_v1_UpgradeRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  upgrade(argument: _anvil_node_v1_UpgradeRequestInput, callback: grpc.requestCallback<_anvil_node_v1_OperationReply>): grpc.ClientUnaryCall;
  
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
  /**
   * (admin) A new signed machine config for this node: verified before anything changes (the
   * config key from STATE, this machine's id, a generation above the running one, not expired,
   * the schema), then applied by `mode`:
   * "no-reboot"  applied live (hostname, network, time servers, services) or refused when a
   * change needs a reboot (the install disk), nothing changed;
   * "reboot"     written to STATE, then a reboot;
   * "auto" ("")  live when it can, else written and rebooted;
   * "try"        applied live for try_timeout_s (0: 120 s), then the previous config comes back
   * by itself unless the same generation is applied again in another mode.
   * `dry_run`: only verified and compared; `changes` says what would change, nothing is applied.
   */
  ApplyConfig: grpc.handleUnaryCall<_anvil_node_v1_ApplyConfigRequest, _anvil_node_v1_ApplyConfigReplyInput>;
  
  Disks: grpc.handleUnaryCall<_anvil_node_v1_DisksRequest, _anvil_node_v1_DisksReplyInput>;
  
  /**
   * The kernel log (/dev/kmsg): the last `tail` lines, then, with `follow`, new ones as they come.
   */
  Dmesg: grpc.handleServerStreamingCall<_anvil_node_v1_DmesgRequest, _anvil_node_v1_LogLineInput>;
  
  /**
   * (reader) One operation by id; ERR_NOT_FOUND when the node has none by that id.
   */
  GetOperation: grpc.handleUnaryCall<_anvil_node_v1_GetOperationRequest, _anvil_node_v1_OperationReplyInput>;
  
  /**
   * One service's output (its ring buffer), as Dmesg.
   */
  Logs: grpc.handleServerStreamingCall<_anvil_node_v1_LogsRequest, _anvil_node_v1_LogLineInput>;
  
  Memory: grpc.handleUnaryCall<_anvil_node_v1_MemoryRequest, _anvil_node_v1_MemoryReplyInput>;
  
  Mounts: grpc.handleUnaryCall<_anvil_node_v1_MountsRequest, _anvil_node_v1_MountsReplyInput>;
  
  /**
   * (reader) The node's operations, newest first (kept across reboots in STATE, at most 16).
   */
  Operations: grpc.handleUnaryCall<_anvil_node_v1_OperationsRequest, _anvil_node_v1_OperationsReplyInput>;
  
  Processes: grpc.handleUnaryCall<_anvil_node_v1_ProcessesRequest, _anvil_node_v1_ProcessesReplyInput>;
  
  /**
   * Services stopped, disks synced, then the machine reboots (or powers off). Answered before it
   * happens, with the operation's id.
   */
  Reboot: grpc.handleUnaryCall<_anvil_node_v1_RebootRequest, _anvil_node_v1_OperationReplyInput>;
  
  /**
   * (admin) Makes the node leave its installed life: with `graceful`, services stopped first and
   * Anvil told (the machine goes provisioned → resetting → ready once the agent wiped the disk);
   * `wipe` says what the node itself erases before it reboots: "state" (the signed config and the
   * identity: the node can never report in again), "ephemeral", or "all" (default: STATE,
   * EPHEMERAL and both boot slots, so the firmware falls through to the network).
   */
  Reset: grpc.handleUnaryCall<_anvil_node_v1_ResetRequest, _anvil_node_v1_OperationReplyInput>;
  
  /**
   * (admin) The other slot, if it is committed, boots from the next boot on; then a reboot.
   * ERR_NODE_NO_ROLLBACK when the other slot was never committed (nothing to go back to).
   */
  Rollback: grpc.handleUnaryCall<_anvil_node_v1_RollbackRequest, _anvil_node_v1_OperationReplyInput>;
  
  Services: grpc.handleUnaryCall<_anvil_node_v1_ServicesRequest, _anvil_node_v1_ServicesReplyInput>;
  
  Shutdown: grpc.handleUnaryCall<_anvil_node_v1_ShutdownRequest, _anvil_node_v1_OperationReplyInput>;
  
  /**
   * (admin) Writes the image into the slot that is not running, never the one GRUB boots by
   * default: the manifest verified with the image keys baked into the node (never keys from the
   * request), the artifact's frames fetched by Range from image_url (untrusted: every chunk checked
   * against the signed manifest before it is written, the slot read back after). Then the slot is
   * selected for ONE try (grubenv: order new-first, <new>_OK=0, <new>_LEFT=1) and the node reboots.
   * The new slot is committed only once machined and the services the config asks for are up and
   * Anvil answered (the health gate, within health_timeout_s); otherwise it reboots and GRUB boots
   * the old, committed slot: the operation ends rolled_back. One operation id across the reboot.
   * Refused: ERR_NODE_BUSY (another upgrade/reset/rollback is running), ERR_IMAGE_DOWNGRADE (a
   * lower security version, or an older/equal version without `force`), signature and manifest
   * errors as the install's.
   */
  Upgrade: grpc.handleUnaryCall<_anvil_node_v1_UpgradeRequest, _anvil_node_v1_OperationReplyInput>;
  
  Version: grpc.handleUnaryCall<_anvil_node_v1_VersionRequest, _anvil_node_v1_VersionReplyInput>;
  
}

export interface NodeDefinition extends grpc.ServiceDefinition {
  ApplyConfig: MethodDefinition<_anvil_node_v1_ApplyConfigRequestInput, _anvil_node_v1_ApplyConfigReplyInput, _anvil_node_v1_ApplyConfigRequest, _anvil_node_v1_ApplyConfigReply>
  Disks: MethodDefinition<_anvil_node_v1_DisksRequestInput, _anvil_node_v1_DisksReplyInput, _anvil_node_v1_DisksRequest, _anvil_node_v1_DisksReply>
  Dmesg: MethodDefinition<_anvil_node_v1_DmesgRequestInput, _anvil_node_v1_LogLineInput, _anvil_node_v1_DmesgRequest, _anvil_node_v1_LogLine>
  GetOperation: MethodDefinition<_anvil_node_v1_GetOperationRequestInput, _anvil_node_v1_OperationReplyInput, _anvil_node_v1_GetOperationRequest, _anvil_node_v1_OperationReply>
  Logs: MethodDefinition<_anvil_node_v1_LogsRequestInput, _anvil_node_v1_LogLineInput, _anvil_node_v1_LogsRequest, _anvil_node_v1_LogLine>
  Memory: MethodDefinition<_anvil_node_v1_MemoryRequestInput, _anvil_node_v1_MemoryReplyInput, _anvil_node_v1_MemoryRequest, _anvil_node_v1_MemoryReply>
  Mounts: MethodDefinition<_anvil_node_v1_MountsRequestInput, _anvil_node_v1_MountsReplyInput, _anvil_node_v1_MountsRequest, _anvil_node_v1_MountsReply>
  Operations: MethodDefinition<_anvil_node_v1_OperationsRequestInput, _anvil_node_v1_OperationsReplyInput, _anvil_node_v1_OperationsRequest, _anvil_node_v1_OperationsReply>
  Processes: MethodDefinition<_anvil_node_v1_ProcessesRequestInput, _anvil_node_v1_ProcessesReplyInput, _anvil_node_v1_ProcessesRequest, _anvil_node_v1_ProcessesReply>
  Reboot: MethodDefinition<_anvil_node_v1_RebootRequestInput, _anvil_node_v1_OperationReplyInput, _anvil_node_v1_RebootRequest, _anvil_node_v1_OperationReply>
  Reset: MethodDefinition<_anvil_node_v1_ResetRequestInput, _anvil_node_v1_OperationReplyInput, _anvil_node_v1_ResetRequest, _anvil_node_v1_OperationReply>
  Rollback: MethodDefinition<_anvil_node_v1_RollbackRequestInput, _anvil_node_v1_OperationReplyInput, _anvil_node_v1_RollbackRequest, _anvil_node_v1_OperationReply>
  Services: MethodDefinition<_anvil_node_v1_ServicesRequestInput, _anvil_node_v1_ServicesReplyInput, _anvil_node_v1_ServicesRequest, _anvil_node_v1_ServicesReply>
  Shutdown: MethodDefinition<_anvil_node_v1_ShutdownRequestInput, _anvil_node_v1_OperationReplyInput, _anvil_node_v1_ShutdownRequest, _anvil_node_v1_OperationReply>
  Upgrade: MethodDefinition<_anvil_node_v1_UpgradeRequestInput, _anvil_node_v1_OperationReplyInput, _anvil_node_v1_UpgradeRequest, _anvil_node_v1_OperationReply>
  Version: MethodDefinition<_anvil_node_v1_VersionRequestInput, _anvil_node_v1_VersionReplyInput, _anvil_node_v1_VersionRequest, _anvil_node_v1_VersionReply>
}
