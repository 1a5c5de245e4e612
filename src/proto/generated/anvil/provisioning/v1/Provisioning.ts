// Original file: src/proto/provisioning.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessageInput as _anvil_provisioning_v1_AgentMessageInput, AgentMessage as _anvil_provisioning_v1_AgentMessage } from '../../../anvil/provisioning/v1/AgentMessage.ts';
import type { ServerMessageInput as _anvil_provisioning_v1_ServerMessageInput, ServerMessage as _anvil_provisioning_v1_ServerMessage } from '../../../anvil/provisioning/v1/ServerMessage.ts';

export interface ProvisioningClient extends grpc.Client {
  /**
   * One long-lived stream per boot of the agent. The agent's first message is a Hello, then its
   * HardwareReport; the server answers with Tasks as the operator asks for them (wipe, reboot, power
   * off) and the agent streams TaskProgress and a TaskResult for each. The token is consumed by the
   * first successful stream: a second stream with the same token is refused (UNAUTHENTICATED).
   */
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessage>;
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessage>;
  /**
   * One long-lived stream per boot of the agent. The agent's first message is a Hello, then its
   * HardwareReport; the server answers with Tasks as the operator asks for them (wipe, reboot, power
   * off) and the agent streams TaskProgress and a TaskResult for each. The token is consumed by the
   * first successful stream: a second stream with the same token is refused (UNAUTHENTICATED).
   */
  session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessage>;
  session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessage>;
  
}

export interface ProvisioningHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One long-lived stream per boot of the agent. The agent's first message is a Hello, then its
   * HardwareReport; the server answers with Tasks as the operator asks for them (wipe, reboot, power
   * off) and the agent streams TaskProgress and a TaskResult for each. The token is consumed by the
   * first successful stream: a second stream with the same token is refused (UNAUTHENTICATED).
   */
  Session: grpc.handleBidiStreamingCall<_anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessageInput>;
  
}

export interface ProvisioningDefinition extends grpc.ServiceDefinition {
  Session: MethodDefinition<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_ServerMessageInput, _anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessage>
}
