import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import type { AgentMessageInput } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import type { HardwareReportInput } from '../proto/generated/anvil/provisioning/v1/HardwareReport.ts'
import type { HelloInput } from '../proto/generated/anvil/provisioning/v1/Hello.ts'
import type { ProvisioningClient } from '../proto/generated/anvil/provisioning/v1/Provisioning.ts'
import type { ServerMessage } from '../proto/generated/anvil/provisioning/v1/ServerMessage.ts'
import type { TaskDispatcher, TaskOutcome } from './tasks.ts'

// One Session stream from the agent's side: hello, hardware report, then tasks until the server
// ends the stream, the connection drops, or a reboot/power-off task asks the agent to finish.

/** How a session ended: a final task, or the stream went away (with its gRPC status code). */
export type SessionEnd =
  | { kind: 'finished', outcome: Exclude<TaskOutcome, 'continue'> }
  | { kind: 'dropped', code: number, message: string, welcomed: boolean }

export type SessionOptions = {
  client: ProvisioningClient
  token: string
  hello: HelloInput
  hardware: HardwareReportInput
  dispatcher: TaskDispatcher
  /** The dispatcher's sink: set to this stream's writer while it is open. */
  attach: (send: ((msg: AgentMessageInput) => void) | undefined) => void
  log: (line: string) => void
}

/** Bound on waiting for the server's status after our half-close, so a final result is flushed. */
const FLUSH_MS = 3000

/** Runs one stream to its end; never rejects. */
export async function runSession (o: SessionOptions): Promise<SessionEnd> {
  return await new Promise<SessionEnd>((resolve) => {
    const md = new Metadata()
    md.set('authorization', `Bearer ${o.token}`)
    const call = o.client.Session(md)
    let welcomed = false
    let settled = false
    const finish = (end: SessionEnd): void => {
      if (settled) return
      settled = true
      o.attach(undefined)
      resolve(end)
    }
    o.attach((msg) => { if (!settled) call.write(msg) })
    call.on('data', (msg: ServerMessage) => {
      if (msg.body === 'welcome') {
        welcomed = true
        o.log(`connected: machine ${msg.welcome?.machineId ?? '?'}`)
      } else if (msg.body === 'task' && msg.task != null) {
        void o.dispatcher.submit(msg.task).then((outcome) => {
          if (outcome === 'continue') return
          // Half-close and give the server a moment to take the result before the machine goes away.
          const timer = setTimeout(() => { finish({ kind: 'finished', outcome }) }, FLUSH_MS)
          call.once('status', () => { clearTimeout(timer); finish({ kind: 'finished', outcome }) })
          call.end()
        })
      }
    })
    call.on('error', (err: ServiceError) => {
      finish({ kind: 'dropped', code: err.code ?? status.UNKNOWN, message: err.details ?? err.message, welcomed })
    })
    call.on('end', () => {
      finish({ kind: 'dropped', code: status.OK, message: 'the server ended the stream', welcomed })
    })
    call.write({ hello: o.hello })
    call.write({ hardware: o.hardware })
  })
}
