// Test support for the DHCP integration tests: network namespaces, and the server and a UDP
// peer run as child processes inside them (Node cannot enter a namespace itself).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Why the integration tier cannot run here, or undefined when it can. */
export function missingPrerequisite (programs: readonly string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  for (const p of ['ip', ...programs]) {
    const found = ['/usr/sbin/', '/usr/bin/', '/sbin/', '/bin/'].some(d => existsSync(d + p))
    if (!found) return `needs ${p} (Debian package: ${p === 'perfdhcp' ? 'kea-admin' : p === 'busybox' ? 'busybox-static' : p})`
  }
  return undefined
}

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A server namespace and a client namespace joined by a veth pair, torn down by close(). */
export class NetnsPair {
  readonly server: string
  readonly client: string
  readonly serverIf: string
  readonly clientIf: string
  readonly #children: ChildProcess[] = []

  /** prefix: e.g. "anvdh-a" → namespaces anvdh-a-srv / anvdh-a-cli, links anvdh-a0 / anvdh-a1. */
  constructor (prefix: string, serverCidr: string, clientCidr?: string) {
    this.server = `${prefix}-srv`
    this.client = `${prefix}-cli`
    this.serverIf = `${prefix}0`
    this.clientIf = `${prefix}1`
    this.close()
    ip('netns', 'add', this.server)
    ip('netns', 'add', this.client)
    ip('link', 'add', this.serverIf, 'type', 'veth', 'peer', 'name', this.clientIf)
    ip('link', 'set', this.serverIf, 'netns', this.server)
    ip('link', 'set', this.clientIf, 'netns', this.client)
    for (const [ns, dev] of [[this.server, this.serverIf], [this.client, this.clientIf]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', ns, 'link', 'set', dev, 'up')
    }
    ip('-n', this.server, 'addr', 'add', serverCidr, 'dev', this.serverIf)
    // Replies to clients without an address go to 255.255.255.255 (RFC 2131 §4.1).
    ip('-n', this.server, 'route', 'add', '255.255.255.255', 'dev', this.serverIf)
    if (clientCidr !== undefined) {
      ip('-n', this.client, 'addr', 'add', clientCidr, 'dev', this.clientIf)
      ip('-n', this.client, 'route', 'add', '255.255.255.255', 'dev', this.clientIf)
    }
  }

  /** Runs a command in a namespace; stopped (by PID) in close() if still running. */
  spawn (ns: string, command: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    this.#children.push(child)
    return child
  }

  /** Runs a command in a namespace to completion, returning stdout (throws on failure). */
  exec (ns: string, command: string, args: readonly string[], timeoutMs = 30_000): string {
    return execFileSync('ip', ['netns', 'exec', ns, command, ...args], { cwd: ROOT, timeout: timeoutMs, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  }

  /** Runs a command in a namespace to completion; never throws on a non-zero exit. */
  run (ns: string, command: string, args: readonly string[], timeoutMs = 30_000): { status: number | null, stdout: string, stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', ns, command, ...args], { cwd: ROOT, timeout: timeoutMs, encoding: 'utf8' })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr }
  }

  /** Stops our children by PID, then deletes both namespaces (the veth goes with them). */
  close (): void {
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    this.#children.length = 0
    for (const ns of [this.server, this.client]) {
      try { ip('netns', 'del', ns) } catch { /* not there */ }
    }
  }
}

/** A test DHCP server (testing-server.ts) running in a namespace; its output lines are kept. */
export class ServerProcess {
  readonly child: ChildProcess
  readonly lines: string[] = []
  /** What it wrote to stderr (its log lines), line by line; also copied to our stderr. */
  readonly errLines: string[] = []
  readonly #waiters: Array<{ re: RegExp, resolve: (line: string) => void }> = []

  constructor (pair: NetnsPair, options: Record<string, unknown>) {
    this.child = pair.spawn(pair.server, process.execPath, ['--import', 'tsx', 'src/dhcp/testing-server.ts', JSON.stringify(options)])
    this.child.stderr?.on('data', (d: Buffer) => { process.stderr.write(d) })
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', (line) => { this.errLines.push(line) })
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.lines.push(line)
      for (const w of [...this.#waiters]) {
        if (w.re.test(line)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
    })
  }

  /** Resolves with the first output line (past or future) matching re; rejects after timeoutMs. */
  async waitFor (re: RegExp, timeoutMs = 20_000): Promise<string> {
    const seen = this.lines.find(l => re.test(l))
    if (seen !== undefined) return seen
    return await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`server printed nothing matching ${re} in ${timeoutMs} ms; output:\n${this.lines.join('\n')}`)) }, timeoutMs)
      this.#waiters.push({ re, resolve: (l) => { clearTimeout(t); resolve(l) } })
    })
  }

  /** Events the server recorded (lines "EVENT {json}"). */
  events (): Array<Record<string, unknown>> {
    return this.lines.filter(l => l.startsWith('EVENT ')).map(l => JSON.parse(l.slice(6)) as Record<string, unknown>)
  }

  /** SIGTERM, then wait for a clean exit. */
  async stop (): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode
    this.child.kill('SIGTERM')
    const [code] = await once(this.child, 'exit') as [number | null]
    return code
  }
}
