import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { skipReason } from './requirements.ts'
import { FILE_CHASSIS_SCRIPT, IPMI_SIM_EMU, ipmiSimLanConf } from '../../lab/ipmi-sim-config.ts'
import { encodeAsfPing } from '../../src/ipmi/asf.ts'

/** A running Debian `ipmi_sim` on loopback: a real BMC for integration tests and benchmarks. */
export type SimBmc = {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
  readonly dir: string
  readonly pid: number
  /** What the chassis-control program holds: the power state and boot device ipmi_sim set. */
  readChassis (): Promise<{ power: 'on' | 'off', boot: string }>
  /** Sets the chassis state behind the BMC's back (as if someone pressed the power button). */
  writeChassis (state: { power?: 'on' | 'off', boot?: string }): Promise<void>
  stop (): Promise<void>
}

export type SimOptions = {
  readonly password?: string
  /** Extra users beyond `admin` (user 2), e.g. an operator. */
  readonly users?: readonly { name: string, password: string, priv: 'user' | 'operator' | 'admin' }[]
  /** A chassis_control program; the default keeps power and boot device in files of the sim's dir. */
  readonly chassisControl?: string
}

/** Why ipmi_sim tests cannot run here (throws under CI instead of skipping). */
export function ipmiSimSkipReason (): string | undefined {
  return skipReason('the IPMI integration tier', { programs: ['ipmi_sim', 'ipmitool'] })
}

/** Starts ipmi_sim on 127.0.0.1 at a free UDP port and waits until it answers an ASF presence ping. */
export async function startIpmiSim (opts: SimOptions = {}): Promise<SimBmc> {
  const dir = await mkdtemp(join(tmpdir(), 'anvil-ipmisim-'))
  const password = opts.password ?? 'anvil-test-pw'
  const port = await freeUdpPort()
  const control = opts.chassisControl ?? join(dir, 'chassis-control')
  if (opts.chassisControl === undefined) {
    await writeFile(control, FILE_CHASSIS_SCRIPT)
    await chmod(control, 0o755)
  }
  await writeFile(join(dir, 'lan.conf'), ipmiSimLanConf({
    name: `anvil-sim-${port}`,
    address: '127.0.0.1',
    port,
    guid: `a4e1ab0000774000800000${port.toString(16).padStart(10, '0')}`,
    chassisControl: control,
    users: [{ name: 'admin', password, priv: 'admin' }, ...(opts.users ?? [])]
  }))
  await writeFile(join(dir, 'bmc.emu'), IPMI_SIM_EMU)
  const child = spawn('ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', dir, '-n'],
    { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (b: Buffer) => { stderr += b.toString() })
  const sim: SimBmc = {
    host: '127.0.0.1',
    port,
    user: 'admin',
    password,
    dir,
    pid: child.pid ?? -1,
    readChassis: async () => {
      const read = async (name: string, fallback: string): Promise<string> =>
        (await readFile(join(dir, name), 'utf8').catch(() => fallback)).trim()
      return { power: (await read('power', '0')) === '1' ? 'on' : 'off', boot: await read('boot', 'default') }
    },
    writeChassis: async (state) => {
      if (state.power !== undefined) await writeFile(join(dir, 'power'), state.power === 'on' ? '1\n' : '0\n')
      if (state.boot !== undefined) await writeFile(join(dir, 'boot'), `${state.boot}\n`)
    },
    stop: async () => {
      await stopChild(child)
      await rm(dir, { recursive: true, force: true })
    }
  }
  try {
    await waitForPing(port, child, () => stderr)
  } catch (err) {
    await sim.stop()
    throw err
  }
  return sim
}

/** A UDP port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function freeUdpPort (): Promise<number> {
  const s = createSocket('udp4')
  s.bind(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address()
  s.close()
  return port
}

const ASF_PING = encodeAsfPing(0)

async function waitForPing (port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const s = createSocket('udp4')
  try {
    const answered = new Promise<void>((resolve) => { s.once('message', () => { resolve() }) })
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`ipmi_sim exited (${child.exitCode}): ${stderr().trim()}`)
      s.send(ASF_PING, port, '127.0.0.1')
      const done = await Promise.race([answered.then(() => true), new Promise<false>((resolve) => setTimeout(resolve, 50, false))])
      if (done) return
    }
    throw new Error(`ipmi_sim on port ${port} did not answer a presence ping within 5 s: ${stderr().trim()}`)
  } finally {
    s.close()
  }
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
  await exited
  clearTimeout(timer)
}
