import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { LAB_NET, inNamespace, type Teardown } from './netns.ts'
import { startDaemon, stopDaemon, waitFor, type Daemon } from './proc.ts'

/** The repository root (lab/ sits directly under it). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

/** How Anvil hands out addresses in the lab: beside a site DHCP server, or on its own. */
export const DhcpMode = { proxy: 'proxy', authoritative: 'authoritative' } as const
export type DhcpMode = typeof DhcpMode[keyof typeof DhcpMode]

export type AnvilLabConfig = {
  readonly runDir: string
  readonly dhcpMode: DhcpMode
  /** Where the admin API listens inside the namespace (the namespace end of the host veth). */
  readonly apiAddress: string
  readonly logLevel?: string
  /** Top-level config sections merged over the lab's (e.g. `discovery` with auto-accept rules). */
  readonly extra?: Readonly<Record<string, unknown>>
}

/** The Anvil config the lab runs with (keys: src/config/schema.ts). */
export function anvilConfig (c: AnvilLabConfig): Record<string, unknown> {
  const dhcp: Record<string, unknown> = { mode: c.dhcpMode, interface: LAB_NET.bridge }
  if (c.dhcpMode === 'authoritative') {
    dhcp.subnets = [{
      subnet: LAB_NET.subnet,
      range: '10.77.0.100-10.77.0.199',
      router: LAB_NET.serverAddress,
      dns: [],
      leaseTime: '1h'
    }]
  }
  return {
    dataDir: join(c.runDir, 'var'),
    bootAssets: join(REPO_ROOT, 'boot-assets'),
    server: { address: LAB_NET.serverAddress },
    log: { level: c.logLevel ?? 'info' },
    http: { listen: '0.0.0.0:8080' },
    api: { listen: `${c.apiAddress}:8081` },
    tftp: { enabled: true, listen: '0.0.0.0:69' },
    dhcp,
    ...c.extra
  }
}

/** A running `anvil serve` in the lab namespace. */
export type AnvilProcess = {
  readonly daemon: Daemon
  readonly configFile: string
  readonly tokenFile: string
  readonly endpoint: string
}

/**
 * Writes the config under runDir and starts `node --import tsx src/bin/anvil.ts serve` inside the
 * namespace (stopped by `teardown`); resolves once the server logs "anvil ready" and has written its admin token.
 */
export async function startAnvil (ns: string, c: AnvilLabConfig, teardown: Teardown, readyTimeoutMs = 90_000): Promise<AnvilProcess> {
  mkdirSync(join(c.runDir, 'var'), { recursive: true })
  const configFile = join(c.runDir, 'anvil.yaml')
  writeFileSync(configFile, '# Written by lab/anvil.ts for one lab run.\n' + stringify(anvilConfig(c)))
  const tokenFile = join(c.runDir, 'var', 'admin.token')
  let ready = false
  const daemon = startDaemon({
    name: 'anvil',
    argv: inNamespace(ns, [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'src/bin/anvil.ts'), 'serve', '--config', configFile]),
    cwd: REPO_ROOT,
    logFile: join(c.runDir, 'anvil.log'),
    onLine: (line) => {
      if (!ready && line.includes('"anvil ready"')) ready = true
    }
  })
  // SIGTERM is the server's graceful shutdown; give it time to flush the timeline.
  teardown.push('stop anvil', async () => await stopDaemon(daemon, 10_000))
  await waitFor('anvil ready', readyTimeoutMs, () => ready && existsSync(tokenFile) ? true : undefined, {
    intervalMs: 200,
    giveUp: () => daemon.alive() ? undefined : `anvil exited; see ${daemon.logFile}`
  })
  return { daemon, configFile, tokenFile, endpoint: `http://${c.apiAddress}:8081` }
}
