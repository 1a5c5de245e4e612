// Original file: src/proto/provisioning.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessage as _anvil_provisioning_v1_AgentMessage, AgentMessage__Output as _anvil_provisioning_v1_AgentMessage__Output } from '../../../anvil/provisioning/v1/AgentMessage.ts';
import type { ServerMessage as _anvil_provisioning_v1_ServerMessage, ServerMessage__Output as _anvil_provisioning_v1_ServerMessage__Output } from '../../../anvil/provisioning/v1/ServerMessage.ts';

export interface ProvisioningClient extends grpc.Client {
  /**
   * One long-lived stream per boot of the agent. The agent's first message is a Hello, then its
   * HardwareReport; the server answers with Tasks as the operator asks for them (wipe, reboot, power
   * off) and the agent streams TaskProgress and a TaskResult for each. The token is consumed by the
   * first successful stream: a second stream with the same token is refused (UNAUTHENTICATED).
   */
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessage__Output>;
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessage__Output>;
  /**
   * One long-lived stream per boot of the agent. The agent's first message is a Hello, then its
   * HardwareReport; the server answers with Tasks as the operator asks for them (wipe, reboot, power
   * off) and the agent streams TaskProgress and a TaskResult for each. The token is consumed by the
   * first successful stream: a second stream with the same token is refused (UNAUTHENTICATED).
   */
  session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessage__Output>;
  session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessage__Output>;
  
}

export interface ProvisioningHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One long-lived stream per boot of the agent. The agent's first message is a Hello, then its
   * HardwareReport; the server answers with Tasks as the operator asks for them (wipe, reboot, power
   * off) and the agent streams TaskProgress and a TaskResult for each. The token is consumed by the
   * first successful stream: a second stream with the same token is refused (UNAUTHENTICATED).
   */
  Session: grpc.handleBidiStreamingCall<_anvil_provisioning_v1_AgentMessage__Output, _anvil_provisioning_v1_ServerMessage>;
  
}

export interface ProvisioningDefinition extends grpc.ServiceDefinition {
  Session: MethodDefinition<_anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_ServerMessage, _anvil_provisioning_v1_AgentMessage__Output, _anvil_provisioning_v1_ServerMessage__Output>
}
