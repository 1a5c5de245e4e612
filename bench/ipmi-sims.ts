// N Debian `ipmi_sim` BMCs on 127.0.0.1 for the IPMI benchmark, each with a file-backed chassis
// (power and boot device in files of its directory), started and stopped through bench/proc.ts so
// that a failure or Ctrl-C stops them by PID like every other process of the run.
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startDaemon, which, type Daemon } from './proc.ts'
import { FILE_CHASSIS_SCRIPT, IPMI_SIM_EMU, ipmiSimLanConf } from '../lab/ipmi-sim-config.ts'
import { encodeAsfPing } from '../src/ipmi/asf.ts'

/** One simulated BMC: where it listens, how to log in, and its chassis files. */
export type BenchBmc = {
  readonly index: number
  readonly port: number
  readonly user: string
  readonly password: string
  readonly dir: string
  readonly daemon: Daemon
}

/** Distinct free UDP ports on 127.0.0.1 (all bound at once, so none repeats, then released). */
async function freeUdpPorts (n: number): Promise<number[]> {
  const sockets = Array.from({ length: n }, () => createSocket('udp4'))
  try {
    await Promise.all(sockets.map(async s => {
      s.bind(0, '127.0.0.1')
      await once(s, 'listening')
    }))
    return sockets.map(s => s.address().port)
  } finally {
    for (const s of sockets) s.close()
  }
}

const ASF_PING = encodeAsfPing(0)

/** Pings every port until each has answered a presence ping once, or timeoutMs passes; returns the silent ones. */
async function waitForPongs (ports: readonly number[], timeoutMs: number): Promise<number[]> {
  const waiting = new Set(ports)
  const s = createSocket('udp4')
  s.on('message', (_msg, rinfo) => { waiting.delete(rinfo.port) })
  s.bind(0, '127.0.0.1')
  await once(s, 'listening')
  try {
    const deadline = Date.now() + timeoutMs
    for (let i = 0; i < 1000 && waiting.size > 0 && Date.now() < deadline; i++) {
      for (const port of waiting) s.send(ASF_PING, port, '127.0.0.1')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    return [...waiting]
  } finally {
    s.close()
  }
}

/** Starts n ipmi_sim BMCs under `home` (rewritten each time) and waits until all answer a presence ping. */
export async function startBenchBmcs (home: string, n: number): Promise<BenchBmc[]> {
  rmSync(home, { recursive: true, force: true })
  const ipmiSim = which('ipmi_sim') ?? 'ipmi_sim'
  const ports = await freeUdpPorts(n)
  const bmcs: BenchBmc[] = []
  try {
    for (const [i, port] of ports.entries()) {
      const dir = join(home, `bmc${i + 1}`)
      mkdirSync(join(dir, 'state'), { recursive: true })
      const control = join(dir, 'chassis-control')
      writeFileSync(control, FILE_CHASSIS_SCRIPT)
      chmodSync(control, 0o755)
      const password = `bench-pw-${i + 1}`
      writeFileSync(join(dir, 'lan.conf'), ipmiSimLanConf({
        name: `anvil-bench-${port}`,
        address: '127.0.0.1',
        port,
        guid: `a4e1ab0000884000800000${port.toString(16).padStart(10, '0')}`,
        chassisControl: `/bin/sh ${control}`,
        users: [{ name: 'admin', password, priv: 'admin' }]
      }))
      writeFileSync(join(dir, 'bmc.emu'), IPMI_SIM_EMU)
      const daemon = startDaemon(`ipmi_sim ${i + 1}`, [ipmiSim, '-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', join(dir, 'state'), '-n'], join(dir, 'ipmi_sim.log'))
      bmcs.push({ index: i + 1, port, user: 'admin', password, dir, daemon })
    }
    const silent = await waitForPongs(ports, 20_000)
    if (silent.length > 0) throw new Error(`${silent.length} of ${n} ipmi_sim did not answer a presence ping within 20 s (ports ${silent.slice(0, 5).join(', ')}...)`)
    return bmcs
  } catch (err) {
    await stopBenchBmcs(bmcs)
    throw err
  }
}

/** Sets a chassis's power behind its BMC's back (what both clients must then read). */
export function setChassisPower (bmc: BenchBmc, on: boolean): void {
  writeFileSync(join(bmc.dir, 'power'), on ? '1\n' : '0\n')
}

/** The chassis's power as its file holds it. */
export function chassisPower (bmc: BenchBmc): 'on' | 'off' {
  try {
    return readFileSync(join(bmc.dir, 'power'), 'utf8').trim() === '1' ? 'on' : 'off'
  } catch {
    return 'off'
  }
}

/** Stops every BMC by PID. */
export async function stopBenchBmcs (bmcs: readonly BenchBmc[]): Promise<void> {
  await Promise.all(bmcs.map(async b => await b.daemon.stop()))
}
