/**
 * The port between the provisioning gRPC transport (src/grpc/) and the discovery domain
 * (src/provisioning/agent-service.ts). Message shapes are the generated proto types
 * (plain interfaces; src/proto/provisioning.proto is the source of truth): `X` is a message as
 * received (defaults filled in), `XInput` as sent.
 */
import type { CancelInput } from '../proto/generated/anvil/provisioning/v1/Cancel.ts'
import type { HardwareReport } from '../proto/generated/anvil/provisioning/v1/HardwareReport.ts'
import type { Hello } from '../proto/generated/anvil/provisioning/v1/Hello.ts'
import type { TaskInput } from '../proto/generated/anvil/provisioning/v1/Task.ts'
import type { TaskProgress } from '../proto/generated/anvil/provisioning/v1/TaskProgress.ts'
import type { TaskResult } from '../proto/generated/anvil/provisioning/v1/TaskResult.ts'

export type { CancelInput, HardwareReport, Hello, TaskInput, TaskProgress, TaskResult }

/** How a stream authenticates: the boot script's one-time token, or an earlier welcome's session credential. */
export type AgentAuth =
  | { readonly kind: 'token', readonly token: string }
  | { readonly kind: 'session', readonly credential: string }

/** One admitted stream of an agent session; the transport hands it back on every later call. */
export type AgentStream = {
  readonly machineId: string
  /** Stable across the session's streams: tasks are handed to it, and only it may report on them. */
  readonly sessionId: string
  /** This stream; a session that reconnected has had several, at most one of them live. */
  readonly streamId: string
  /** True when the stream continues an earlier stream of the same session. */
  readonly resumed: boolean
}

/** What openSession admits, with the credential the welcome carries for the next stream. */
export type OpenedStream = AgentStream & { readonly credential: string, readonly credentialTtlMs: number }

/** What the server sends the agent after its welcome. */
export type AgentDirective = { readonly task: TaskInput } | { readonly cancel: CancelInput }

/**
 * What the transport calls, per stream, in this order: openSession; hardwareReported; then
 * tasks (started once) with progress/result as they come; sessionClosed when the stream ends.
 */
export interface AgentGateway {
  /**
   * Admits a stream. A token is checked (known, unused, unexpired, used from the address that
   * fetched its boot script or Anvil's DHCP leased the machine, a hello naming one of the machine's
   * MACs, no other session holding the machine) and only then consumed; a credential continues its
   * session. Throws CodedError: ERR_AGENT_TOKEN_INVALID, ERR_AGENT_TOKEN_USED, ERR_AGENT_SESSION_INVALID,
   * ERR_AGENT_ADDRESS, ERR_AGENT_BOOT_MAC (UNAUTHENTICATED), ERR_AGENT_SESSION_HELD (UNAVAILABLE: retry),
   * ERR_AGENT_HELLO_INVALID (INVALID_ARGUMENT). A refusal consumes nothing.
   * `peer` is the remote IP address of the connection.
   */
  openSession (auth: AgentAuth, hello: Hello, peer: string): Promise<OpenedStream>
  /** Stores the hardware report; resolves when it is durable. */
  hardwareReported (stream: AgentStream, report: HardwareReport): Promise<void>
  /**
   * Tasks (and cancels of running ones) for this stream's session as the operator asks for them;
   * a resumed stream first gets again the tasks its session is running. Ends when `signal` aborts;
   * throws ERR_AGENT_SESSION_ENDED when the session was cut off (a power action through the BMC).
   */
  tasks (stream: AgentStream, signal: AbortSignal): AsyncIterable<AgentDirective>
  /** Progress of a running task (called often: implementations throttle what they store). */
  progress (stream: AgentStream, progress: TaskProgress): void
  /** A task ended (ok or not); resolves when the outcome is durable. */
  result (stream: AgentStream, result: TaskResult): Promise<void>
  /** The stream ended (cleanly, by error, or by server shutdown); resolves once recorded. */
  sessionClosed (stream: AgentStream, reason: string): Promise<void>
}
