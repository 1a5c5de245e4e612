import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))
export const ANVIL = `${REPO}bin/anvil`

const running = new Set<ChildProcess>()

/** Kills (SIGKILL) every server this helper started that is still running: call it in after(). */
export function killAllServers (): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  running.clear()
}

/** A running `anvil serve` child and the JSON log lines it printed. */
export type ServerProcess = { readonly child: ChildProcess, readonly lines: Record<string, unknown>[], readonly stderr: () => string }

/** Which `anvil` to run, and where: this checkout's bin/anvil by default. */
export type ServerProcessOptions = { readonly anvil?: readonly string[], readonly cwd?: string }

/**
 * Starts `anvil serve --config FILE` (optionally wrapped, e.g. in `ip netns exec` or `setpriv`) and
 * resolves once it logs "anvil ready"; rejects if it exits first or takes longer than 60 s.
 */
export async function startServerProcess (configFile: string, wrapper: readonly string[] = [], options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const argv = [...wrapper, ...(options.anvil ?? [ANVIL]), 'serve', '--config', configFile]
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd === undefined ? {} : { cwd: options.cwd }) })
  running.add(child)
  child.once('exit', () => running.delete(child))
  const lines: Record<string, unknown>[] = []
  let err = ''
  let buf = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`anvil serve not ready within 60 s; stderr: ${err}`)), 60_000)
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        try {
          const obj = JSON.parse(line) as Record<string, unknown>
          lines.push(obj)
          if (obj.msg === 'anvil ready') { clearTimeout(timer); resolve() }
        } catch { /* not a log line */ }
      }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`anvil serve exited with ${code}; stderr: ${err}`)) })
  })
  try {
    await ready
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }
  return { child, lines, stderr: () => err }
}

/** Sends a signal and waits for the exit; returns the exit code (or the signal name). */
export async function stopServerProcess (p: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  if (p.child.exitCode !== null) return p.child.exitCode
  p.child.kill(signal)
  const [code, sig] = await once(p.child, 'exit') as [number | null, string | null]
  return code ?? sig ?? 'unknown'
}
