/**
 * One `Session` stream of an agent (src/proto/provisioning.proto): a thin adapter that checks the
 * message order the contract fixes and hands everything else to the AgentGateway.
 *
 *   agent                          server
 *   (metadata authorization: "Bearer <token>" on the first stream of a boot,
 *                            "Session <credential>" on every later one)
 *   hello            ───────▶  gateway.openSession(auth, hello, peer address)
 *                    ◀───────  welcome { machineId, sessionId, credential, credentialTtlMs, resumed }
 *   hardware         ───────▶  gateway.hardwareReported  → then gateway.tasks() starts
 *   (buffered progress/results of a resumed session may follow at once)
 *                    ◀───────  task …  (a resumed stream: first the tasks its session runs, again)
 *                    ◀───────  cancel { taskId } …  (a running task an operator cancelled)
 *   progress …       ───────▶  gateway.progress
 *   result           ───────▶  gateway.result
 *   half-close / cancel / error / server stop → gateway.sessionClosed, task iterator aborted
 *
 * Hello and hardware come again on every stream, a resumed one too: the server needs the boot MAC
 * to check, and a report that may have changed is cheap to store.
 */
import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { peerAddress } from '../lib/peer-address.ts'
import type { Logger } from '../log/logger.ts'
import type { AgentMessage } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import type { ServerMessageInput } from '../proto/generated/anvil/provisioning/v1/ServerMessage.ts'
import type { AgentAuth, AgentGateway, AgentStream, Hello } from '../provisioning/agent-gateway.ts'
import { toStatus } from './errors.ts'

export type SessionCall = ServerDuplexStream<AgentMessage, ServerMessageInput>

export type AgentSessionOptions = {
  readonly gateway: AgentGateway
  readonly log: Logger
  /** How long the agent has to send its hello after opening the stream. */
  readonly helloTimeoutMs: number
}

const CANCELLED = 'the agent cancelled the stream or its connection was lost'

/** Tokens and credentials are 256-bit base64url in practice; anything far longer is not one of ours. */
const MAX_TOKEN_LENGTH = 512

/** Runs one Session call from its first message to its status. */
export class AgentSession {
  readonly #call: SessionCall
  readonly #opts: AgentSessionOptions
  readonly #log: Logger
  readonly #ctl = new AbortController()
  #stream: AgentStream | undefined

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
      if (!call.cancelled) call.emit('error', toStatus(err, this.#log, { machineId: this.#stream?.machineId }))
    } finally {
      call.off('cancelled', onCancel)
      const stream = this.#stream
      if (stream !== undefined) {
        this.#log.info({ machineId: stream.machineId, sessionId: stream.sessionId, reason }, 'agent stream closed')
        try {
          await this.#opts.gateway.sessionClosed(stream, reason)
        } catch (err) {
          this.#log.error({ err, machineId: stream.machineId }, 'the gateway failed to record a closed session')
        }
      }
    }
  }

  async #converse (messages: AsyncIterator<AgentMessage>): Promise<void> {
    const { gateway } = this.#opts
    const auth = authorization(this.#call.metadata)
    const peer = peerAddress(this.#call.getPeer())
    const hello = await this.#hello(messages)
    if (peer === undefined) throw new CodedError('ERR_AGENT_ADDRESS', 'the connection has no IP address to check')
    const opened = await gateway.openSession(auth, hello, peer)
    const { credential, credentialTtlMs, ...stream } = opened
    this.#stream = stream
    this.#log.info({ machineId: stream.machineId, sessionId: stream.sessionId, resumed: stream.resumed, agentVersion: hello.agentVersion, bootMac: hello.bootMac }, 'agent stream opened')
    await this.#send({ welcome: { machineId: stream.machineId, sessionId: stream.sessionId, credential, credentialTtlMs, resumed: stream.resumed } })

    const report = await this.#next(messages)
    if (report?.body !== 'hardware' || report.hardware == null) {
      throw protocolError(`the message after hello must be hardware, not ${describe(report)}`)
    }
    await gateway.hardwareReported(stream, report.hardware)
    this.#pumpTasks(stream)
    for (let msg = await this.#next(messages); msg !== undefined; msg = await this.#next(messages)) {
      await this.#dispatch(stream, msg)
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

  async #dispatch (stream: AgentStream, msg: AgentMessage): Promise<void> {
    const { gateway } = this.#opts
    switch (msg.body) {
      case 'progress':
        if (msg.progress != null) gateway.progress(stream, msg.progress)
        return
      case 'result':
        if (msg.result != null) await gateway.result(stream, msg.result)
        return
      case 'hardware':
        // A later report (e.g. after a disk appeared) replaces the first.
        if (msg.hardware != null) await gateway.hardwareReported(stream, msg.hardware)
        return
      case 'hello':
      case undefined:
        throw protocolError(`${describe(msg)} is only allowed as the first message`)
    }
  }

  /** Streams the gateway's tasks and cancels to the agent until the stream ends; a failure ends the stream. */
  #pumpTasks (stream: AgentStream): void {
    const signal = this.#ctl.signal
    const { machineId, sessionId } = stream
    const pump = async (): Promise<void> => {
      for await (const directive of this.#opts.gateway.tasks(stream, signal)) {
        if (signal.aborted) break
        await this.#send(directive)
        if ('task' in directive) this.#log.info({ machineId, sessionId, taskId: directive.task.id }, 'task sent to agent')
        else this.#log.info({ machineId, sessionId, taskId: directive.cancel.taskId }, 'cancel sent to agent')
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
    if (signal.aborted) {
      // `p` was started all the same (a read of the next message, say): when the call then ends
      // with our error status, it rejects with it, and nothing else would ever handle that.
      p.catch(() => {})
      throw signal.reason
    }
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

/**
 * The stream's credential from its `authorization` metadata: `Bearer <token>` (RFC 6750 §2.1), the
 * boot script's token, or `Session <credential>`, a session's; ERR_AGENT_TOKEN_MISSING otherwise.
 */
function authorization (metadata: Metadata): AgentAuth {
  const value = metadata.get('authorization')[0]
  const match = typeof value === 'string' ? /^(Bearer|Session) +(\S+)$/i.exec(value.trim()) : null
  const scheme = match?.[1]?.toLowerCase()
  const secret = match?.[2]
  if (scheme === undefined || secret === undefined) throw new CodedError('ERR_AGENT_TOKEN_MISSING', 'the call carries no "authorization: Bearer <token>" (or "Session <credential>") metadata')
  if (secret.length > MAX_TOKEN_LENGTH) {
    throw scheme === 'bearer' ? new CodedError('ERR_AGENT_TOKEN_INVALID', 'the token is not valid') : new CodedError('ERR_AGENT_SESSION_INVALID', 'the session credential is not valid')
  }
  return scheme === 'bearer' ? { kind: 'token', token: secret } : { kind: 'session', credential: secret }
}

function protocolError (message: string): CodedError {
  return new CodedError('ERR_AGENT_PROTOCOL', message)
}

function describe (msg: AgentMessage | undefined): string {
  if (msg === undefined) return 'the end of the stream'
  return msg.body === undefined ? 'an empty message' : `a ${msg.body} message`
}
