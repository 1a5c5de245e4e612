/**
 * The health gate's check (docs/node-api.md "The health gate"): machined is up (it is asking),
 * the services every node runs are running and have been for a moment (a crash loop that is
 * "running" between two restarts does not pass), and trustd holds a certificate from Anvil's CA
 * (apid's certificate file: trustd writes it only once Anvil answered). Pure over a snapshot.
 */
import type { ServiceStatus } from '../supervisor.ts'

export const GATE_SERVICES = ['trustd', 'apid'] as const
/** How long a service must have been running in this run to count (a crash loop restarts sooner). */
export const STABLE_MS = 10_000

/** Undefined when healthy, else the first thing missing. */
export function healthProblem (services: readonly ServiceStatus[], certificate: boolean, now: number, stableMs = STABLE_MS): string | undefined {
  for (const id of GATE_SERVICES) {
    const s = services.find(x => x.id === id)
    if (s === undefined) return `${id} is not started`
    if (s.state !== 'running') return `${id} is ${s.state}${s.lastExit === '' ? '' : ` (last exit: ${s.lastExit})`}`
    if (now - s.startedAtMs < stableMs) return `${id} has run for less than ${Math.round(stableMs / 1000)} s`
  }
  if (!certificate) return 'trustd holds no certificate from Anvil yet'
  return undefined
}
