/**
 * The port between the provisioning gRPC transport (src/grpc/) and the discovery domain
 * (src/provisioning/discovery-service.ts). Message shapes are the generated proto types
 * (plain interfaces; src/proto/provisioning.proto is the source of truth): `X` is a message as
 * received (defaults filled in), `XInput` as sent.
 */
import type { HardwareReport } from '../proto/generated/anvil/provisioning/v1/HardwareReport.ts'
import type { Hello } from '../proto/generated/anvil/provisioning/v1/Hello.ts'
import type { TaskInput } from '../proto/generated/anvil/provisioning/v1/Task.ts'
import type { TaskProgress } from '../proto/generated/anvil/provisioning/v1/TaskProgress.ts'
import type { TaskResult } from '../proto/generated/anvil/provisioning/v1/TaskResult.ts'

export type { HardwareReport, Hello, TaskInput, TaskProgress, TaskResult }

/** What the transport calls, in this order: open, hardware, then tasks/progress/result until closed. */
export interface AgentGateway {
  /**
   * Checks and consumes the one-time token of an agent's session. Throws CodedError
   * ERR_AGENT_TOKEN_INVALID (unknown or expired) or ERR_AGENT_TOKEN_USED (already consumed): the
   * transport answers UNAUTHENTICATED. Returns the machine the token was issued to.
   */
  openSession (token: string, hello: Hello, peer: string): Promise<{ machineId: string }>
  /** Stores the hardware report; resolves when it is durable. */
  hardwareReported (machineId: string, report: HardwareReport): Promise<void>
  /** Tasks for this machine as the operator asks for them; the iterator ends when `signal` aborts. */
  tasks (machineId: string, signal: AbortSignal): AsyncIterable<TaskInput>
  /** Progress of a running task (called often: implementations throttle what they store). */
  progress (machineId: string, progress: TaskProgress): void
  /** A task ended (ok or not); resolves when the outcome is durable. */
  result (machineId: string, result: TaskResult): Promise<void>
  /** The agent's stream ended (cleanly, by error, or by server shutdown). */
  sessionClosed (machineId: string, reason: string): void
}
