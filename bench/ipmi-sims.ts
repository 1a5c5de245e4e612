// N Debian `ipmi_sim` BMCs on 127.0.0.1 for the IPMI benchmark, each with a file-backed chassis
// (power and boot device in files of its directory), started and stopped through bench/proc.ts so
// that a failure or Ctrl-C stops them by PID like every other process of the run.
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startDaemon, which, type Daemon } from './proc.ts'

/** One simulated BMC: where it listens, how to log in, and its chassis files. */
export type BenchBmc = {
  readonly index: number
  readonly port: number
  readonly user: string
  readonly password: string
  readonly dir: string
  readonly daemon: Daemon
}

// The chassis_control protocol (LAB-NOTES "IPMI with ipmi_sim"): `get power` prints power:1|0,
// `get boot` boot:DEVICE, `set power 1`, `set boot pxe`, ... Plain sh: ipmi_sim runs it for every
// Get Chassis Status, synchronously, so its cost is part of every answer, the same for both clients.
const CHASSIS = `#!/bin/sh
dir=$(dirname "$0")
op=$1; shift
case "$op" in
  get)
    for what in "$@"; do
      case "$what" in
        power) read -r p 2>/dev/null < "$dir/power"; echo "power:\${p:-0}" ;;
        boot) read -r b 2>/dev/null < "$dir/boot"; echo "boot:\${b:-default}" ;;
      esac
    done ;;
  set)
    while [ $# -ge 2 ]; do
      case "$1" in
        power|boot) printf '%s\\n' "$2" > "$dir/$1" ;;
        shutdown) echo 0 > "$dir/power" ;;
      esac
      shift 2
    done ;;
esac
`

// Get Device ID values (IPMI v2.0 §20.1), as in test/helpers/ipmi-sim.ts.
const EMU = 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n'

function lanConf (port: number, password: string, control: string): string {
  const auths = 'none md2 md5 straight'
  return [
    `name "anvil-bench-${port}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr 127.0.0.1 ${port}`,
    '    priv_limit admin',
    ...['callback', 'user', 'operator', 'admin'].map(p => `    allowed_auths_${p} ${auths}`),
    `    guid a4e1ab0000884000800000${port.toString(16).padStart(10, '0')}`,
    '  endlan',
    `  chassis_control "/bin/sh ${control}"`,
    `  user 2 true "admin" "${password}" admin 10 ${auths}`
  ].join('\n') + '\n'
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

// RMCP (IPMI v2.0 §13.1.3) + ASF presence ping (§13.2.3): class ASF, IANA 4542, type 0x80, tag 0xff.
const ASF_PING = Buffer.from('0600ff06000011be80000000', 'hex')

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
      writeFileSync(control, CHASSIS)
      chmodSync(control, 0o755)
      const password = `bench-pw-${i + 1}`
      writeFileSync(join(dir, 'lan.conf'), lanConf(port, password, control))
      writeFileSync(join(dir, 'bmc.emu'), EMU)
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
