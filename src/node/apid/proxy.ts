/**
 * The generic proxy: one handler per method of a service definition, each checking the caller's
 * role and forwarding the raw request bytes to machined unchanged (identity serializers, as
 * `makeGenericClientConstructor` allows), then machined's headers, messages, status and trailers
 * back. apid never decodes a message, so it needs no change when node.proto grows a field.
 */
import {
  Metadata, status, type Client, type ClientReadableStream, type ClientUnaryCall, type Deadline, type ServerUnaryCall,
  type ServerWritableStream, type ServiceDefinition, type StatusObject, type UntypedServiceImplementation, type sendUnaryData
} from '@grpc/grpc-js'
import { CodedError } from '../../lib/errors.ts'
import { ERROR_CODE_TRAILER, toStatus } from '../../grpc/errors.ts'
import type { Logger } from '../../log/logger.ts'
import { callerFromAuthContext, type Caller } from './peer.ts'
import { requiredRole, roleAllows } from './roles.ts'

/** Metadata apid sets on the upstream call; whatever a client sends under these names is dropped. */
export const CALLER_ROLE_HEADER = 'anvil-caller-role'
export const CALLER_NAME_HEADER = 'anvil-caller-name'

export type ProxyOptions = {
  /** The service as loaded from node.proto (its methods' paths and kinds; its serializers unused). */
  readonly service: ServiceDefinition
  /** A client on machined's unix socket. */
  readonly upstream: Client
  readonly log: Logger
  /** Upper bound on a unary call's upstream deadline, whatever the client asked (ms). */
  readonly maxUnaryMs: number
}

const identity = (b: Buffer): Buffer => b

/** The same methods with pass-through serializers: bytes in, bytes out. */
export function passThroughDefinition (service: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {}
  for (const [name, m] of Object.entries(service)) {
    out[name] = { ...m, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity }
  }
  return out
}

/** Handlers for every method of `service`, keyed by method name, for `server.addService`. */
export function proxyImplementation (opts: ProxyOptions): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {}
  for (const [name, m] of Object.entries(opts.service)) {
    if (m.requestStream) impl[name] = unsupported(name, opts.log)
    else if (m.responseStream) impl[name] = serverStream(name, m.path, opts)
    else impl[name] = unary(name, m.path, opts)
  }
  return impl
}

type Surface = ServerUnaryCall<Buffer, Buffer> | ServerWritableStream<Buffer, Buffer>

type Verdict = { readonly caller: Caller, readonly refusal?: undefined } | { readonly caller?: Caller | undefined, readonly refusal: StatusObject }

/** The caller if allowed to call `method`, else the refusal (with the caller when it is known). */
function authorize (call: Surface, method: string, log: Logger): Verdict {
  let caller: Caller | undefined
  try {
    caller = callerFromAuthContext(call.getAuthContext())
    if (!roleAllows(caller.role, method)) {
      throw new CodedError('ERR_NODE_ROLE_DENIED', `role ${caller.role} may not call ${method} (it needs ${requiredRole(method)})`)
    }
    return { caller }
  } catch (err) {
    const refusal = toStatus(err, log, { method })
    logCall(log, method, caller, refusal.code)
    return { caller, refusal }
  }
}

/** The client's metadata for machined, with apid's word on who is calling. */
function upstreamMetadata (incoming: Metadata, caller: Caller): Metadata {
  const md = incoming.clone()
  // grpc-js's channel sets its own user-agent; the caller headers are apid's to set, never the client's.
  for (const key of ['user-agent', CALLER_ROLE_HEADER, CALLER_NAME_HEADER]) md.remove(key)
  md.set(CALLER_ROLE_HEADER, caller.role)
  md.set(CALLER_NAME_HEADER, caller.name)
  return md
}

/**
 * machined's status as the client should see it. A connection failure (UNAVAILABLE that machined
 * did not send: no error-code trailer) becomes ERR_NODE_UNREACHABLE without the socket error text.
 */
function downstreamStatus (s: StatusObject, log: Logger, method: string): StatusObject {
  if (s.code !== status.UNAVAILABLE || s.metadata.get(ERROR_CODE_TRAILER).length > 0) return s
  log.warn({ method, details: s.details }, 'machined is not reachable')
  return toStatus(new CodedError('ERR_NODE_UNREACHABLE', 'machined is not reachable on this node; retry later'), log)
}

function unaryDeadline (client: Deadline, maxMs: number): Deadline {
  const cap = Date.now() + maxMs
  const asked = client instanceof Date ? client.getTime() : client
  return Math.min(asked, cap)
}

function logCall (log: Logger, method: string, caller: Caller | undefined, code: status): void {
  const entry = { method, caller: caller?.name, role: caller?.role, fingerprint: caller?.fingerprint256, code: status[code] }
  if (code === status.PERMISSION_DENIED || code === status.UNAUTHENTICATED) log.warn(entry, 'node api call refused')
  else log.info(entry, 'node api call')
}

function unary (method: string, path: string, opts: ProxyOptions) {
  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const verdict = authorize(call, method, opts.log)
    if (verdict.refusal !== undefined) { callback(verdict.refusal); return }
    const caller = verdict.caller
    let reply: Buffer | undefined
    const upstream: ClientUnaryCall = opts.upstream.makeUnaryRequest(path, identity, identity, call.request,
      upstreamMetadata(call.metadata, caller), { deadline: unaryDeadline(call.getDeadline(), opts.maxUnaryMs) },
      (_err, value) => { reply = value })
    upstream.on('metadata', (md: Metadata) => { call.sendMetadata(md) })
    // grpc-js emits 'status' right after the callback, with the trailers on success as on failure.
    upstream.on('status', (raw: StatusObject) => {
      const s = downstreamStatus(raw, opts.log, method)
      logCall(opts.log, method, caller, s.code)
      if (s.code === status.OK && reply !== undefined) callback(null, reply, s.metadata)
      else callback(s)
    })
    call.on('cancelled', () => { upstream.cancel() })
  }
}

function serverStream (method: string, path: string, opts: ProxyOptions) {
  return (call: ServerWritableStream<Buffer, Buffer>): void => {
    const verdict = authorize(call, method, opts.log)
    if (verdict.refusal !== undefined) { call.emit('error', verdict.refusal); return }
    const caller = verdict.caller
    const upstream: ClientReadableStream<Buffer> = opts.upstream.makeServerStreamRequest(path, identity, identity, call.request,
      upstreamMetadata(call.metadata, caller), { deadline: call.getDeadline() })
    let over = false // finished or cancelled: nothing more goes to the client
    let final: StatusObject | undefined
    let drained = false
    // grpc-js emits 'status' as soon as the status arrives, possibly before the messages still
    // buffered behind backpressure: finish only when both the status and the end have been seen.
    const finish = (): void => {
      if (final === undefined || !drained || over) return
      over = true
      const s = downstreamStatus(final, opts.log, method)
      logCall(opts.log, method, caller, s.code)
      if (s.code === status.OK) call.end(s.metadata)
      else call.emit('error', s)
    }
    upstream.on('metadata', (md: Metadata) => { call.sendMetadata(md) })
    upstream.on('data', (chunk: Buffer) => {
      if (!call.write(chunk)) {
        upstream.pause()
        call.once('drain', () => { upstream.resume() })
      }
    })
    upstream.on('error', () => {}) // the same failure arrives as 'status'
    upstream.on('status', (s: StatusObject) => { final = s; finish() })
    upstream.on('end', () => { drained = true; finish() })
    call.on('cancelled', () => {
      if (over) return
      over = true
      logCall(opts.log, method, caller, status.CANCELLED)
      upstream.cancel()
    })
  }
}

/** node.proto has no client-streaming method; one added later is refused until apid pipes it. */
function unsupported (method: string, log: Logger) {
  return (call: { emit: (event: 'error', s: StatusObject) => boolean }, callback?: sendUnaryData<Buffer>): void => {
    log.error({ method }, 'apid cannot proxy a client-streaming method yet')
    const s: StatusObject = { code: status.UNIMPLEMENTED, details: `${method} is not available through apid`, metadata: new Metadata() }
    if (callback !== undefined) callback(s)
    else call.emit('error', s)
  }
}
