// Starts `anvil serve --config FILE` in the server namespace with a config generated under
// bench/run/, the way an operator would run it (server-contract: src/bin/anvil.ts serve).
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { BenchContext } from './context.ts'
import { dir } from './context.ts'
import { SERVER_IP, listening, onServer } from './netns.ts'
import { startDaemon, waitUntil, type Daemon } from './proc.ts'

/** The config keys a benchmark sets; everything else keeps Anvil's defaults. */
export type AnvilOverrides = {
  readonly tftp?: Record<string, unknown>
  readonly dhcp?: Record<string, unknown>
  readonly http?: Record<string, unknown>
}

/** Why Anvil cannot be benchmarked from this checkout, or undefined when it can. */
export function anvilMissing (ctx: BenchContext): string | undefined {
  if (!existsSync(join(ctx.repo, 'src/bin/anvil.ts'))) return 'src/bin/anvil.ts is not in this checkout yet'
  if (!existsSync(join(ctx.repo, 'node_modules/tsx/dist/loader.mjs'))) return 'node_modules/tsx is missing (run npm install)'
  return undefined
}

/**
 * Writes bench/run/<name>/config.yaml (a fresh dataDir each time, so no state carries over
 * between rounds) and starts Anvil; resolves once `port` is bound in the server namespace.
 * Logging is at warn, like the anchors, so per-request log lines cost nothing.
 */
export async function startAnvil (ctx: BenchContext, name: string, assets: string, wait: { proto: 'udp' | 'tcp', port: number }, overrides: AnvilOverrides): Promise<Daemon> {
  const home = dir(join(ctx.runDir, name))
  const dataDir = join(home, 'data')
  rmSync(dataDir, { recursive: true, force: true })
  const config = {
    dataDir,
    bootAssets: assets,
    server: { address: SERVER_IP },
    log: { level: 'warn' },
    http: { listen: `${SERVER_IP}:8080`, ...overrides.http },
    api: { listen: '127.0.0.1:8081' },
    tftp: { enabled: false, ...overrides.tftp },
    dhcp: { mode: 'off', ...overrides.dhcp }
  }
  const file = join(home, 'config.yaml')
  writeFileSync(file, stringify(config))
  const loader = `file://${join(ctx.repo, 'node_modules/tsx/dist/loader.mjs')}`
  const argv = onServer([process.execPath, '--import', loader, join(ctx.repo, 'src/bin/anvil.ts'), 'serve', '--config', file])
  const daemon = startDaemon('anvil', argv, join(home, 'anvil.log'))
  const ok = await waitUntil(async () => daemon.exited() || await listening(wait.proto, wait.port), 60_000)
  if (!ok || daemon.exited()) {
    await daemon.stop()
    throw new Error(`anvil did not bind ${wait.proto}/${wait.port} within 60 s; see ${join(home, 'anvil.log')}`)
  }
  return daemon
}
