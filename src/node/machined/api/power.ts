import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import type { OperationInput } from '../../../proto/generated/anvil/node/v1/Operation.ts'

/** The machine's power, as machined drives it. */
export interface PowerPort {
  reboot (): Promise<void>
  powerOff (): Promise<void>
}

/**
 * Power through /proc/sysrq-trigger (Documentation/admin-guide/sysrq.rst: writing to it is always
 * allowed to root, whatever kernel.sysrq says): `s` emergency sync, `u` remount read-only, then
 * `b` reboot or `o` power off, at once and without unmounting. `s` and `u` are queued work in
 * the kernel while `b` is immediate, hence the pause between them; machined has run sync(1)
 * before, so these are the second line of defence, not the first.
 */
export function sysrqPower (o: { readonly trigger?: string, readonly pauseMs?: number, readonly onWrite?: (key: string) => void } = {}): PowerPort {
  const trigger = o.trigger ?? '/proc/sysrq-trigger'
  const pauseMs = o.pauseMs ?? 1000
  const press = async (key: string): Promise<void> => {
    await writeFile(trigger, key)
    o.onWrite?.(key)
  }
  const go = async (last: 'b' | 'o'): Promise<void> => {
    for (const key of ['s', 'u'] as const) {
      await press(key)
      await delay(pauseMs)
    }
    await press(last)
  }
  return { reboot: async () => { await go('b') }, powerOff: async () => { await go('o') } }
}

/** sync(1) through an explicit argv, bounded: a disk that does not answer must not stop the reboot. */
export async function runSync (timeoutMs = 60_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('sync', [], { timeout: timeoutMs }, err => { if (err === null) resolve(); else reject(err) })
  })
}

/**
 * What every operation that ends the running system goes through (reboot and shutdown here, reset
 * and apply-config's reboot beside them): services stopped, disks synced, the power port.
 */
export type PowerPath = {
  readonly stopServices: () => Promise<void>
  readonly power: PowerPort
  readonly sync: () => Promise<void>
  readonly bootId: () => Promise<string>
  readonly log: (line: string) => void
  readonly now?: () => number
  /**
   * Between the answer and the first service stopped (default 250 ms): apid, which relays the
   * answer, is one of the services, and its reply must be on the wire before it gets SIGTERM.
   */
  readonly settleMs?: number
}

export type PowerOperationsOptions = PowerPath

export type PowerKind = 'reboot' | 'shutdown'

/**
 * Reboot and Shutdown as operations: begin() answers at once with the operation (running), then
 * stops the services (unless forced), syncs and calls the power port. One at a time: while one
 * is under way, the same kind is answered with it again; the other kind is refused.
 */
export class PowerOperations {
  readonly #o: PowerOperationsOptions
  #current: OperationInput | undefined

  constructor (o: PowerOperationsOptions) { this.#o = o }

  /** The operation begun (or already under way), or undefined when another kind is under way. */
  async begin (kind: PowerKind, force: boolean): Promise<OperationInput | undefined> {
    if (this.#current !== undefined) return this.#current.kind === kind ? this.#current : undefined
    const op: OperationInput = {
      id: `op-${randomUUID()}`,
      kind,
      state: 'running',
      phase: force ? 'powering' : 'stopping-services',
      startedAtMs: (this.#o.now ?? Date.now)(),
      bootIdBefore: await this.#o.bootId().catch(() => '')
    }
    this.#current = op
    setTimeout(() => { void this.#run(op, force) }, this.#o.settleMs ?? 250)
    return op
  }

  async #run (op: OperationInput, force: boolean): Promise<void> {
    const say = (line: string): void => { this.#o.log(`anvil-node: ${op.kind} ${op.id}: ${line}`) }
    try {
      if (!force) {
        say('stopping services')
        await this.#o.stopServices()
      }
      say('syncing disks')
      await this.#o.sync().catch((err: unknown) => { say(`sync failed (${(err as Error).message}); going on`) })
      say(op.kind === 'reboot' ? 'rebooting' : 'powering off')
      await (op.kind === 'reboot' ? this.#o.power.reboot() : this.#o.power.powerOff())
    } catch (err) {
      // Still up: say so and let a later request try again.
      say(`failed: ${(err as Error).message}`)
      this.#current = undefined
    }
  }
}
