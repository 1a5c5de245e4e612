import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import type { HardwareReportInput } from '../proto/generated/anvil/provisioning/v1/HardwareReport.ts'
import type { HelloInput } from '../proto/generated/anvil/provisioning/v1/Hello.ts'
import type { ProvisioningClient } from '../proto/generated/anvil/provisioning/v1/Provisioning.ts'
import type { ServerMessage } from '../proto/generated/anvil/provisioning/v1/ServerMessage.ts'
import type { Welcome } from '../proto/generated/anvil/provisioning/v1/Welcome.ts'
import type { Outbox } from './outbox.ts'
import type { TaskDispatcher, TaskOutcome } from './tasks.ts'

// One Session stream from the agent's side (src/grpc/agent-session.ts has the whole exchange):
// hello, hardware report, whatever the outbox kept while no stream was open, then tasks and
// cancels until the server ends the stream, the connection drops, or a reboot/power-off task
// asks the agent to finish. The first stream of a boot authenticates with the boot script's
// token, every later one with the session credential of the latest welcome.

/** How a stream ended: a final task, or the stream went away (with its gRPC status code). */
export type SessionEnd =
  | { kind: 'finished', outcome: Exclude<TaskOutcome, 'continue'> }
  | { kind: 'dropped', code: number, message: string, welcomed: boolean }

/** How the stream authenticates. */
export type StreamAuth = { readonly token: string } | { readonly credential: string }

export type SessionOptions = {
  client: ProvisioningClient
  auth: StreamAuth
  hello: HelloInput
  hardware: HardwareReportInput
  dispatcher: TaskDispatcher
  outbox: Outbox
  /** Every welcome: the session's id and the credential for the next stream. */
  onWelcome: (welcome: Welcome) => void
  log: (line: string) => void
}

/** Bound on waiting for the server's status after our half-close, so a final result is flushed. */
const FLUSH_MS = 3000

/** Runs one stream to its end; never rejects. */
export async function runSession (o: SessionOptions): Promise<SessionEnd> {
  return await new Promise<SessionEnd>((resolve) => {
    const md = new Metadata()
    md.set('authorization', 'token' in o.auth ? `Bearer ${o.auth.token}` : `Session ${o.auth.credential}`)
    const call = o.client.Session(md)
    let welcomed = false
    let settled = false
    let finishing = false
    const finish = (end: SessionEnd): void => {
      if (settled) return
      settled = true
      o.outbox.detach()
      resolve(end)
    }
    // A reboot or power-off was answered (on this stream or, kept, just flushed to it): half-close
    // and give the server a moment to take the result before the machine goes away.
    const finishWith = (outcome: Exclude<TaskOutcome, 'continue'>): void => {
      if (finishing || settled || !welcomed) return
      finishing = true
      const timer = setTimeout(() => { finish({ kind: 'finished', outcome }) }, FLUSH_MS)
      call.once('status', () => { clearTimeout(timer); finish({ kind: 'finished', outcome }) })
      call.end()
    }
    call.on('data', (msg: ServerMessage) => {
      switch (msg.body) {
        case 'welcome':
          if (msg.welcome == null) return
          welcomed = true
          o.onWelcome(msg.welcome)
          o.log(`${msg.welcome.resumed ? 'reconnected' : 'connected'}: machine ${msg.welcome.machineId}, session ${msg.welcome.sessionId}`)
          // The server reads hello then hardware; kept progress and results may follow at once.
          call.write({ hardware: o.hardware })
          o.outbox.attach((m) => { if (!settled) call.write(m) })
          void o.dispatcher.final.then(finishWith)
          return
        case 'task':
          if (msg.task != null) void o.dispatcher.submit(msg.task)
          return
        case 'cancel':
          if (msg.cancel != null) o.dispatcher.cancel(msg.cancel.taskId)
          break
        case undefined:
          break
      }
    })
    call.on('error', (err: ServiceError) => {
      finish({ kind: 'dropped', code: err.code ?? status.UNKNOWN, message: err.details ?? err.message, welcomed })
    })
    call.on('end', () => {
      finish({ kind: 'dropped', code: status.OK, message: 'the server ended the stream', welcomed })
    })
    call.write({ hello: o.hello })
  })
}
