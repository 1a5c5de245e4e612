// Original file: src/proto/provisioning.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessageInput as _anvil_provisioning_v1_AgentMessageInput, AgentMessage as _anvil_provisioning_v1_AgentMessage } from '../../../anvil/provisioning/v1/AgentMessage.ts';
import type { NodeCertificateReplyInput as _anvil_provisioning_v1_NodeCertificateReplyInput, NodeCertificateReply as _anvil_provisioning_v1_NodeCertificateReply } from '../../../anvil/provisioning/v1/NodeCertificateReply.ts';
import type { NodeCertificateRequestInput as _anvil_provisioning_v1_NodeCertificateRequestInput, NodeCertificateRequest as _anvil_provisioning_v1_NodeCertificateRequest } from '../../../anvil/provisioning/v1/NodeCertificateRequest.ts';
import type { NodeNoticeReplyInput as _anvil_provisioning_v1_NodeNoticeReplyInput, NodeNoticeReply as _anvil_provisioning_v1_NodeNoticeReply } from '../../../anvil/provisioning/v1/NodeNoticeReply.ts';
import type { NodeNoticeRequestInput as _anvil_provisioning_v1_NodeNoticeRequestInput, NodeNoticeRequest as _anvil_provisioning_v1_NodeNoticeRequest } from '../../../anvil/provisioning/v1/NodeNoticeRequest.ts';
import type { NodeReportInput as _anvil_provisioning_v1_NodeReportInput, NodeReport as _anvil_provisioning_v1_NodeReport } from '../../../anvil/provisioning/v1/NodeReport.ts';
import type { NodeReportReplyInput as _anvil_provisioning_v1_NodeReportReplyInput, NodeReportReply as _anvil_provisioning_v1_NodeReportReply } from '../../../anvil/provisioning/v1/NodeReportReply.ts';
import type { ServerMessageInput as _anvil_provisioning_v1_ServerMessageInput, ServerMessage as _anvil_provisioning_v1_ServerMessage } from '../../../anvil/provisioning/v1/ServerMessage.ts';

export interface ProvisioningClient extends grpc.Client {
  /**
   * A provisioned node's server certificate for apid (issue 11), asked for by its trustd at boot
   * and at half of each certificate's lifetime. No bearer secret: the request is signed with the
   * node's identity key, the one its ReportIn registered for this machine (machine_nodes), over
   * nodeCertificateProof(...) (src/node-state/certificate-proof.ts), and names a fresh TLS key
   * made on the node (only its public half travels). Anvil's node CA answers with a certificate
   * for that key: CN the machine id, SANs only the node's own addresses (those it reported) and
   * hostname, EKU serverAuth, 24 h. Refusals: ERR_NODE_PROOF_INVALID (unknown machine, no
   * registered key, a signature that does not verify, a request older or newer than 5 minutes),
   * ERR_INVALID_STATE (not provisioned), ERR_VALIDATION (a name it may not have).
   */
  IssueNodeCertificate(argument: _anvil_provisioning_v1_NodeCertificateRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeCertificateReply>): grpc.ClientUnaryCall;
  IssueNodeCertificate(argument: _anvil_provisioning_v1_NodeCertificateRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeCertificateReply>): grpc.ClientUnaryCall;
  IssueNodeCertificate(argument: _anvil_provisioning_v1_NodeCertificateRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeCertificateReply>): grpc.ClientUnaryCall;
  IssueNodeCertificate(argument: _anvil_provisioning_v1_NodeCertificateRequestInput, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeCertificateReply>): grpc.ClientUnaryCall;
  /**
   * A provisioned node's server certificate for apid (issue 11), asked for by its trustd at boot
   * and at half of each certificate's lifetime. No bearer secret: the request is signed with the
   * node's identity key, the one its ReportIn registered for this machine (machine_nodes), over
   * nodeCertificateProof(...) (src/node-state/certificate-proof.ts), and names a fresh TLS key
   * made on the node (only its public half travels). Anvil's node CA answers with a certificate
   * for that key: CN the machine id, SANs only the node's own addresses (those it reported) and
   * hostname, EKU serverAuth, 24 h. Refusals: ERR_NODE_PROOF_INVALID (unknown machine, no
   * registered key, a signature that does not verify, a request older or newer than 5 minutes),
   * ERR_INVALID_STATE (not provisioned), ERR_VALIDATION (a name it may not have).
   */
  issueNodeCertificate(argument: _anvil_provisioning_v1_NodeCertificateRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeCertificateReply>): grpc.ClientUnaryCall;
  issueNodeCertificate(argument: _anvil_provisioning_v1_NodeCertificateRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeCertificateReply>): grpc.ClientUnaryCall;
  issueNodeCertificate(argument: _anvil_provisioning_v1_NodeCertificateRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeCertificateReply>): grpc.ClientUnaryCall;
  issueNodeCertificate(argument: _anvil_provisioning_v1_NodeCertificateRequestInput, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeCertificateReply>): grpc.ClientUnaryCall;
  
  /**
   * A provisioned node says what it is doing to its own life, signed with its identity key
   * (nodeNoticeProof, src/node-state/notice-proof.ts), within 5 minutes of Anvil's clock:
   * "reset"     the node is resetting itself: the machine goes provisioned → resetting (a wipe
   * queued for its agent, the machine booted into it by its BMC) → ready;
   * "upgraded"  the new slot was committed (image, version, slot): recorded, event node.upgraded;
   * "rolled_back" an upgrade's trial boot failed and the old slot runs again: event node.rolled_back.
   * Refused as IssueNodeCertificate's requests are (unknown machine or key, bad signature, clock).
   */
  NodeNotice(argument: _anvil_provisioning_v1_NodeNoticeRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeNoticeReply>): grpc.ClientUnaryCall;
  NodeNotice(argument: _anvil_provisioning_v1_NodeNoticeRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeNoticeReply>): grpc.ClientUnaryCall;
  NodeNotice(argument: _anvil_provisioning_v1_NodeNoticeRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeNoticeReply>): grpc.ClientUnaryCall;
  NodeNotice(argument: _anvil_provisioning_v1_NodeNoticeRequestInput, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeNoticeReply>): grpc.ClientUnaryCall;
  /**
   * A provisioned node says what it is doing to its own life, signed with its identity key
   * (nodeNoticeProof, src/node-state/notice-proof.ts), within 5 minutes of Anvil's clock:
   * "reset"     the node is resetting itself: the machine goes provisioned → resetting (a wipe
   * queued for its agent, the machine booted into it by its BMC) → ready;
   * "upgraded"  the new slot was committed (image, version, slot): recorded, event node.upgraded;
   * "rolled_back" an upgrade's trial boot failed and the old slot runs again: event node.rolled_back.
   * Refused as IssueNodeCertificate's requests are (unknown machine or key, bad signature, clock).
   */
  nodeNotice(argument: _anvil_provisioning_v1_NodeNoticeRequestInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeNoticeReply>): grpc.ClientUnaryCall;
  nodeNotice(argument: _anvil_provisioning_v1_NodeNoticeRequestInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeNoticeReply>): grpc.ClientUnaryCall;
  nodeNotice(argument: _anvil_provisioning_v1_NodeNoticeRequestInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeNoticeReply>): grpc.ClientUnaryCall;
  nodeNotice(argument: _anvil_provisioning_v1_NodeNoticeRequestInput, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeNoticeReply>): grpc.ClientUnaryCall;
  
  /**
   * The installed node's first report from its own disk (issue 10): it proves that the install
   * booted. Authenticated with `authorization: Node <token>`, the one-time token its install task
   * wrote to STATE, valid only for the machine and the install it was issued for; a second report
   * with it is refused (UNAUTHENTICATED, ERR_NODE_TOKEN_USED). The node's identity key is made on
   * the node and never leaves it: the report carries its public half and a signature proving the
   * node holds the private one.
   */
  ReportIn(argument: _anvil_provisioning_v1_NodeReportInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeReportReply>): grpc.ClientUnaryCall;
  ReportIn(argument: _anvil_provisioning_v1_NodeReportInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeReportReply>): grpc.ClientUnaryCall;
  ReportIn(argument: _anvil_provisioning_v1_NodeReportInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeReportReply>): grpc.ClientUnaryCall;
  ReportIn(argument: _anvil_provisioning_v1_NodeReportInput, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeReportReply>): grpc.ClientUnaryCall;
  /**
   * The installed node's first report from its own disk (issue 10): it proves that the install
   * booted. Authenticated with `authorization: Node <token>`, the one-time token its install task
   * wrote to STATE, valid only for the machine and the install it was issued for; a second report
   * with it is refused (UNAUTHENTICATED, ERR_NODE_TOKEN_USED). The node's identity key is made on
   * the node and never leaves it: the report carries its public half and a signature proving the
   * node holds the private one.
   */
  reportIn(argument: _anvil_provisioning_v1_NodeReportInput, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeReportReply>): grpc.ClientUnaryCall;
  reportIn(argument: _anvil_provisioning_v1_NodeReportInput, metadata: grpc.Metadata, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeReportReply>): grpc.ClientUnaryCall;
  reportIn(argument: _anvil_provisioning_v1_NodeReportInput, options: grpc.CallOptions, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeReportReply>): grpc.ClientUnaryCall;
  reportIn(argument: _anvil_provisioning_v1_NodeReportInput, callback: grpc.requestCallback<_anvil_provisioning_v1_NodeReportReply>): grpc.ClientUnaryCall;
  
  /**
   * One session per boot of the agent, over one or more streams. On every stream the agent's first
   * message is a Hello (the server answers Welcome), then its HardwareReport; the server then sends
   * Tasks as the operator asks for them (wipe, reboot, power off) and Cancels, and the agent
   * streams TaskProgress and one TaskResult for each task.
   * - The token is consumed by the first stream the server accepts; a second stream with it is
   * refused (UNAUTHENTICATED, anvil-error-code ERR_AGENT_TOKEN_USED). Refused streams consume nothing.
   * - While a session holds the machine (its stream is live, or it dropped while running a task
   * less than the resume grace period ago) a stream with a new token is refused UNAVAILABLE
   * (ERR_AGENT_SESSION_HELD): retry with backoff.
   * - A stream resumed with `Session <credential>` continues the same session: the tasks it was
   * running are sent again (the agent must recognise an id it already runs or ran: never restart
   * it, answer a finished one with its result again), and so are Cancels not yet answered.
   */
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessage>;
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessage>;
  /**
   * One session per boot of the agent, over one or more streams. On every stream the agent's first
   * message is a Hello (the server answers Welcome), then its HardwareReport; the server then sends
   * Tasks as the operator asks for them (wipe, reboot, power off) and Cancels, and the agent
   * streams TaskProgress and one TaskResult for each task.
   * - The token is consumed by the first stream the server accepts; a second stream with it is
   * refused (UNAUTHENTICATED, anvil-error-code ERR_AGENT_TOKEN_USED). Refused streams consume nothing.
   * - While a session holds the machine (its stream is live, or it dropped while running a task
   * less than the resume grace period ago) a stream with a new token is refused UNAVAILABLE
   * (ERR_AGENT_SESSION_HELD): retry with backoff.
   * - A stream resumed with `Session <credential>` continues the same session: the tasks it was
   * running are sent again (the agent must recognise an id it already runs or ran: never restart
   * it, answer a finished one with its result again), and so are Cancels not yet answered.
   */
  session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessage>;
  session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessage>;
  
}

export interface ProvisioningHandlers extends grpc.UntypedServiceImplementation {
  /**
   * A provisioned node's server certificate for apid (issue 11), asked for by its trustd at boot
   * and at half of each certificate's lifetime. No bearer secret: the request is signed with the
   * node's identity key, the one its ReportIn registered for this machine (machine_nodes), over
   * nodeCertificateProof(...) (src/node-state/certificate-proof.ts), and names a fresh TLS key
   * made on the node (only its public half travels). Anvil's node CA answers with a certificate
   * for that key: CN the machine id, SANs only the node's own addresses (those it reported) and
   * hostname, EKU serverAuth, 24 h. Refusals: ERR_NODE_PROOF_INVALID (unknown machine, no
   * registered key, a signature that does not verify, a request older or newer than 5 minutes),
   * ERR_INVALID_STATE (not provisioned), ERR_VALIDATION (a name it may not have).
   */
  IssueNodeCertificate: grpc.handleUnaryCall<_anvil_provisioning_v1_NodeCertificateRequest, _anvil_provisioning_v1_NodeCertificateReplyInput>;
  
  /**
   * A provisioned node says what it is doing to its own life, signed with its identity key
   * (nodeNoticeProof, src/node-state/notice-proof.ts), within 5 minutes of Anvil's clock:
   * "reset"     the node is resetting itself: the machine goes provisioned → resetting (a wipe
   * queued for its agent, the machine booted into it by its BMC) → ready;
   * "upgraded"  the new slot was committed (image, version, slot): recorded, event node.upgraded;
   * "rolled_back" an upgrade's trial boot failed and the old slot runs again: event node.rolled_back.
   * Refused as IssueNodeCertificate's requests are (unknown machine or key, bad signature, clock).
   */
  NodeNotice: grpc.handleUnaryCall<_anvil_provisioning_v1_NodeNoticeRequest, _anvil_provisioning_v1_NodeNoticeReplyInput>;
  
  /**
   * The installed node's first report from its own disk (issue 10): it proves that the install
   * booted. Authenticated with `authorization: Node <token>`, the one-time token its install task
   * wrote to STATE, valid only for the machine and the install it was issued for; a second report
   * with it is refused (UNAUTHENTICATED, ERR_NODE_TOKEN_USED). The node's identity key is made on
   * the node and never leaves it: the report carries its public half and a signature proving the
   * node holds the private one.
   */
  ReportIn: grpc.handleUnaryCall<_anvil_provisioning_v1_NodeReport, _anvil_provisioning_v1_NodeReportReplyInput>;
  
  /**
   * One session per boot of the agent, over one or more streams. On every stream the agent's first
   * message is a Hello (the server answers Welcome), then its HardwareReport; the server then sends
   * Tasks as the operator asks for them (wipe, reboot, power off) and Cancels, and the agent
   * streams TaskProgress and one TaskResult for each task.
   * - The token is consumed by the first stream the server accepts; a second stream with it is
   * refused (UNAUTHENTICATED, anvil-error-code ERR_AGENT_TOKEN_USED). Refused streams consume nothing.
   * - While a session holds the machine (its stream is live, or it dropped while running a task
   * less than the resume grace period ago) a stream with a new token is refused UNAVAILABLE
   * (ERR_AGENT_SESSION_HELD): retry with backoff.
   * - A stream resumed with `Session <credential>` continues the same session: the tasks it was
   * running are sent again (the agent must recognise an id it already runs or ran: never restart
   * it, answer a finished one with its result again), and so are Cancels not yet answered.
   */
  Session: grpc.handleBidiStreamingCall<_anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessageInput>;
  
}

export interface ProvisioningDefinition extends grpc.ServiceDefinition {
  IssueNodeCertificate: MethodDefinition<_anvil_provisioning_v1_NodeCertificateRequestInput, _anvil_provisioning_v1_NodeCertificateReplyInput, _anvil_provisioning_v1_NodeCertificateRequest, _anvil_provisioning_v1_NodeCertificateReply>
  NodeNotice: MethodDefinition<_anvil_provisioning_v1_NodeNoticeRequestInput, _anvil_provisioning_v1_NodeNoticeReplyInput, _anvil_provisioning_v1_NodeNoticeRequest, _anvil_provisioning_v1_NodeNoticeReply>
  ReportIn: MethodDefinition<_anvil_provisioning_v1_NodeReportInput, _anvil_provisioning_v1_NodeReportReplyInput, _anvil_provisioning_v1_NodeReport, _anvil_provisioning_v1_NodeReportReply>
  Session: MethodDefinition<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessageInput, _anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessage>
}
