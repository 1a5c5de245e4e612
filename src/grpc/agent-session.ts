/**
 * One agent's `Session` stream (src/proto/provisioning.proto): a thin adapter that checks the
 * message order the contract fixes and hands everything else to the AgentGateway.
 *
 *   agent                          server
 *   (metadata: authorization: Bearer <token>)
 *   hello            ───────▶  gateway.openSession(token, hello, peer)
 *                    ◀───────  welcome { machineId }
 *   hardware         ───────▶  gateway.hardwareReported  → then gateway.tasks() starts
 *                    ◀───────  task …            (as the operator asks)
 *   progress …       ───────▶  gateway.progress
 *   result           ───────▶  gateway.result
 *   half-close / cancel / error / server stop → gateway.sessionClosed, task iterator aborted
 */
import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js'
import { CodedError, isCodedError } from '../lib/errors.ts'
import type { Logger } from '../log/logger.ts'
import type { AgentMessage } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import type { ServerMessageInput } from '../proto/generated/anvil/provisioning/v1/ServerMessage.ts'
import type { AgentGateway, Hello } from '../provisioning/agent-gateway.ts'
import { toStatus } from './errors.ts'

export type SessionCall = ServerDuplexStream<AgentMessage, ServerMessageInput>

export type AgentSessionOptions = {
  readonly gateway: AgentGateway
  readonly log: Logger
  /** How long the agent has to send its hello after opening the stream. */
  readonly helloTimeoutMs: number
}

const CANCELLED = 'the agent cancelled the stream or its connection was lost'

/** Tokens are 256-bit base64url in practice; anything far longer is not one of ours. */
const MAX_TOKEN_LENGTH = 512

/** Runs one Session call from its first message to its status. */
export class AgentSession {
  readonly #call: SessionCall
  readonly #opts: AgentSessionOptions
  readonly #log: Logger
  readonly #ctl = new AbortController()
  #machineId: string | undefined

  constructor (call: SessionCall, opts: AgentSessionOptions) {
    this.#call = call
    this.#opts = opts
    this.#log = opts.log.child({ peer: call.getPeer() })
  }

  /** Ends the session early; `reason` (a CodedError) becomes the agent's status. */
  abort (reason: Error): void {
    this.#ctl.abort(reason)
  }

  /** Never rejects: every outcome ends as a status to the agent and a sessionClosed. */
  async run (): Promise<void> {
    const call = this.#call
    const onCancel = (): void => { this.#ctl.abort(new CodedError('ERR_AGENT_CANCELLED', CANCELLED)) }
    call.once('cancelled', onCancel)
    // destroyOnReturn false: leaving the loop must not destroy the call before its status is sent.
    const messages = call.iterator({ destroyOnReturn: false }) as AsyncIterator<AgentMessage>
    let reason = 'the agent closed the stream'
    try {
      await this.#converse(messages)
      // An agent's RST_STREAM ends the read side too, and Node's http2 and grpc-js report the
      // reset over a chain of process.nextTick callbacks that has run out by the next
      // setImmediate. Check then, before our status makes grpc-js flag every call as cancelled.
      await new Promise((resolve) => { setImmediate(resolve) })
      if (call.cancelled) {
        reason = CANCELLED
      } else {
        call.end()
      }
      this.#ctl.abort(new CodedError('ERR_SESSION_ENDED', reason))
    } catch (err) {
      this.#ctl.abort(err)
      reason = isCodedError(err) ? err.message : 'internal error'
      if (!call.cancelled) call.emit('error', toStatus(err, this.#log, { machineId: this.#machineId }))
    } finally {
      call.off('cancelled', onCancel)
      if (this.#machineId !== undefined) {
        this.#log.info({ machineId: this.#machineId, reason }, 'agent session closed')
        try {
          this.#opts.gateway.sessionClosed(this.#machineId, reason)
        } catch (err) {
          this.#log.error({ err, machineId: this.#machineId }, 'the gateway failed to record a closed session')
        }
      }
    }
  }

  async #converse (messages: AsyncIterator<AgentMessage>): Promise<void> {
    const { gateway } = this.#opts
    const token = bearerToken(this.#call.metadata)
    const hello = await this.#hello(messages)
    const { machineId } = await gateway.openSession(token, hello, this.#call.getPeer())
    this.#machineId = machineId
    this.#log.info({ machineId, agentVersion: hello.agentVersion, bootMac: hello.bootMac }, 'agent session opened')
    await this.#send({ welcome: { machineId } })

    const report = await this.#next(messages)
    if (report?.body !== 'hardware' || report.hardware == null) {
      throw protocolError(`the message after hello must be hardware, not ${describe(report)}`)
    }
    await gateway.hardwareReported(machineId, report.hardware)
    this.#pumpTasks(machineId)
    for (let msg = await this.#next(messages); msg !== undefined; msg = await this.#next(messages)) {
      await this.#dispatch(machineId, msg)
    }
  }

  async #hello (messages: AsyncIterator<AgentMessage>): Promise<Hello> {
    const { helloTimeoutMs } = this.#opts
    const timer = setTimeout(() => {
      this.#ctl.abort(new CodedError('ERR_AGENT_HELLO_TIMEOUT', `no hello within ${helloTimeoutMs} ms of opening the stream`))
    }, helloTimeoutMs)
    try {
      const first = await this.#next(messages)
      if (first?.body !== 'hello' || first.hello == null) throw protocolError(`the first message must be hello, not ${describe(first)}`)
      return first.hello
    } finally {
      clearTimeout(timer)
    }
  }

  async #dispatch (machineId: string, msg: AgentMessage): Promise<void> {
    const { gateway } = this.#opts
    switch (msg.body) {
      case 'progress':
        if (msg.progress != null) gateway.progress(machineId, msg.progress)
        return
      case 'result':
        if (msg.result != null) await gateway.result(machineId, msg.result)
        return
      case 'hardware':
        // A later report (e.g. after a disk appeared) replaces the first.
        if (msg.hardware != null) await gateway.hardwareReported(machineId, msg.hardware)
        return
      case 'hello':
      case undefined:
        throw protocolError(`${describe(msg)} is only allowed as the first message`)
    }
  }

  /** Streams the gateway's tasks to the agent until the session ends; a failure ends the session. */
  #pumpTasks (machineId: string): void {
    const signal = this.#ctl.signal
    const pump = async (): Promise<void> => {
      for await (const task of this.#opts.gateway.tasks(machineId, signal)) {
        if (signal.aborted) break
        await this.#send({ task })
        this.#log.info({ machineId, taskId: task.id, kind: task.kind }, 'task sent to agent')
      }
    }
    pump().catch((err: unknown) => { this.#ctl.abort(err) })
  }

  /** The next message, or undefined when the agent half-closed; throws the abort reason. */
  async #next (messages: AsyncIterator<AgentMessage>): Promise<AgentMessage | undefined> {
    const r = await this.#unlessAborted(messages.next())
    return r.done === true ? undefined : r.value
  }

  async #send (msg: ServerMessageInput): Promise<void> {
    await this.#unlessAborted(new Promise<void>((resolve, reject) => {
      this.#call.write(msg, (err: Error | null | undefined) => { if (err == null) resolve(); else reject(err) })
    }))
  }

  async #unlessAborted<T> (p: Promise<T>): Promise<T> {
    const signal = this.#ctl.signal
    if (signal.aborted) throw signal.reason
    let onAbort = (): void => {}
    try {
      return await Promise.race([p, new Promise<never>((_resolve, reject) => {
        onAbort = () => { reject(signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
      })])
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }
}

/** The token from `authorization: Bearer <token>` (RFC 6750 §2.1), or ERR_AGENT_TOKEN_MISSING. */
function bearerToken (metadata: Metadata): string {
  const value = metadata.get('authorization')[0]
  const match = typeof value === 'string' ? /^Bearer +(\S+)$/i.exec(value.trim()) : null
  const token = match?.[1]
  if (token === undefined) throw new CodedError('ERR_AGENT_TOKEN_MISSING', 'the call carries no "authorization: Bearer <token>" metadata')
  if (token.length > MAX_TOKEN_LENGTH) throw new CodedError('ERR_AGENT_TOKEN_INVALID', 'the token is not valid')
  return token
}

function protocolError (message: string): CodedError {
  return new CodedError('ERR_AGENT_PROTOCOL', message)
}

function describe (msg: AgentMessage | undefined): string {
  if (msg === undefined) return 'the end of the stream'
  return msg.body === undefined ? 'an empty message' : `a ${msg.body} message`
}
