// IpmiBmc over a real IpmiSession (RMCP+, cipher suite 3) against Debian's ipmi_sim on loopback,
// cross-checked both ways with ipmitool (-I lanplus -C 3): ipmitool reads back what Anvil set, and
// Anvil reads back what ipmitool set. ipmitool exits 0 even when some commands fail, so every
// ipmitool call here also requires an empty stderr.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { IpmiBmc } from '../../src/ipmi/bmc.ts'
import { IpmiSession } from '../../src/ipmi/client.ts'
import { IpmiCompletionError } from '../../src/ipmi/errors.ts'
import { ipmiSimSkipReason, startIpmiSim, type SimBmc } from '../helpers/ipmi-sim.ts'

const run = promisify(execFile)
const skip = ipmiSimSkipReason()
if (skip !== undefined) console.log(`# skipping IpmiBmc integration: ${skip}`)

/** Runs ipmitool against the sim over RMCP+ suite 3 and returns its stdout lines; stderr must be empty. */
async function ipmitool (sim: SimBmc, ...args: string[]): Promise<string[]> {
  const { stdout, stderr } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', sim.host, '-p', String(sim.port),
    '-U', sim.user, '-P', sim.password, ...args], { timeout: 20_000 })
  assert.equal(stderr.trim(), '', `ipmitool ${args.join(' ')} wrote to stderr`)
  return stdout.split('\n').filter((l) => l.trim() !== '')
}

/** The value after `label` and a colon in ipmitool's output. */
function field (lines: readonly string[], label: string): string {
  const line = lines.find((l) => l.trimStart().startsWith(label) && l.includes(':'))
  assert.ok(line !== undefined, `ipmitool printed no "${label}" line in:\n${lines.join('\n')}`)
  return line.slice(line.indexOf(':') + 1).trim()
}

/** Polls `check` every 100 ms, at most 50 times (ipmi_sim's power-cycle timer is 1 s). */
async function eventually (what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.fail(`${what} did not happen within 5 s`)
}

/** What ipmitool's `chassis bootparam get 5` says about the flags, in BootDeviceState terms. */
function ipmitoolBootFlags (lines: readonly string[]): { valid: boolean, persistent: boolean, efi: boolean } {
  const has = (text: string): boolean => lines.some((l) => l.trim() === `- ${text}`)
  return { valid: has('Boot Flag Valid'), persistent: has('Options apply to all future boots'), efi: has('BIOS EFI boot') }
}

describe('IpmiBmc over IpmiSession (suite 3) against ipmi_sim, cross-checked with ipmitool', { skip }, () => {
  let sim: SimBmc
  let session: IpmiSession
  let bmc: IpmiBmc

  before(async () => {
    sim = await startIpmiSim()
    session = await IpmiSession.open({ host: sim.host, port: sim.port, username: sim.user, password: sim.password, cipherSuite: 3 })
    bmc = new IpmiBmc(session)
  })

  after(async () => {
    await session?.close()
    await sim?.stop()
  })

  test('the session runs cipher suite 3', () => {
    assert.equal(session.cipherSuite, 3)
  })

  test('deviceId() reads what `ipmitool mc info` prints', async () => {
    const [id, lines] = await Promise.all([bmc.deviceId(), ipmitool(sim, 'mc', 'info')])
    assert.equal(String(id.deviceId), field(lines, 'Device ID'))
    assert.equal(id.firmware, field(lines, 'Firmware Revision'))
    assert.equal(id.ipmiVersion, field(lines, 'IPMI Version'))
    assert.equal(String(id.manufacturerId), field(lines, 'Manufacturer ID'))
    assert.equal(id.manufacturerId, 4753)
  })

  test('systemGuid() is the GUID `ipmitool mc guid` prints; deviceGuid() is named invalid command', async () => {
    const guid = await bmc.systemGuid()
    const lines = await ipmitool(sim, 'mc', 'guid')
    // ipmitool guesses the encoding from the version nibble; compare with the reading it chose.
    const encoding = field(lines, 'GUID Encoding')
    const asSent = guid.hex.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')
    const expected = encoding.startsWith('IPMI') ? guid.guid : encoding.startsWith('SMBIOS') ? guid.smbios : asSent
    assert.equal(field(lines, 'System GUID'), expected)
    await assert.rejects(bmc.deviceGuid(), (err: unknown) =>
      err instanceof IpmiCompletionError && err.completionCode === 0xc1 && err.message.startsWith('Get Device GUID: '))
  })

  test('power: ipmitool reads back what Anvil set, Anvil reads back what ipmitool set', async () => {
    await sim.writeChassis({ power: 'off' })
    assert.equal(await bmc.powerState(), 'off')
    await bmc.chassisControl('on')
    assert.equal((await sim.readChassis()).power, 'on')
    assert.deepEqual(await ipmitool(sim, 'chassis', 'power', 'status'), ['Chassis Power is on'])
    assert.equal(field(await ipmitool(sim, 'chassis', 'status'), 'System Power'), 'on')
    await ipmitool(sim, 'chassis', 'power', 'off')
    assert.equal(await bmc.powerState(), 'off')
    assert.equal((await bmc.chassisStatus()).powerOn, false)
    await ipmitool(sim, 'chassis', 'power', 'on')
    assert.equal(await bmc.powerState(), 'on')
    await bmc.chassisControl('off')
    assert.deepEqual(await ipmitool(sim, 'chassis', 'power', 'status'), ['Chassis Power is off'])
  })

  test('cycle, reset and soft reach the chassis-control program', async () => {
    const log = async (): Promise<string[]> => (await readFile(join(sim.dir, 'chassis.log'), 'utf8').catch(() => '')).trim().split('\n')
    await sim.writeChassis({ power: 'on' })
    const before = (await log()).length
    await bmc.chassisControl('cycle')
    // ipmi_sim powers down at once and back up from a 1 s timer.
    await eventually('power back on after cycle', async () => (await log()).slice(before).join(',') === 'power 0,power 1')
    assert.equal(await bmc.powerState(), 'on')
    await bmc.chassisControl('reset')
    assert.equal((await log()).at(-1), 'reset 1')
    await bmc.chassisControl('soft')
    assert.equal((await log()).at(-1), 'shutdown 1')
    assert.equal(await bmc.powerState(), 'off')
  })

  test('boot device: ipmitool reads back what Anvil set', async () => {
    for (const [flags, selector] of [
      [{ device: 'pxe', persistent: true, efi: true }, 'Force PXE'],
      [{ device: 'disk', persistent: false, efi: false }, 'Force Boot from default Hard-Drive'],
      [{ device: 'none', persistent: false, efi: false }, 'No override']
    ] as const) {
      await bmc.setBootDevice(flags)
      const lines = await ipmitool(sim, 'chassis', 'bootparam', 'get', '5')
      assert.equal(field(lines, '- Boot Device Selector'), selector)
      const mine = await bmc.bootDevice()
      assert.equal(mine.device, flags.device)
      // ipmi_sim keeps only the device: both tools must read the same (cleared) flag bits.
      assert.deepEqual({ valid: mine.valid, persistent: mine.persistent, efi: mine.efi }, ipmitoolBootFlags(lines))
      assert.equal((await sim.readChassis()).boot, { pxe: 'pxe', disk: 'default', none: 'none' }[flags.device])
    }
  })

  test('boot device: Anvil reads back what ipmitool set', async () => {
    for (const [args, device] of [[['pxe'], 'pxe'], [['disk', 'options=persistent'], 'disk'], [['none'], 'none']] as const) {
      const out = await ipmitool(sim, 'chassis', 'bootdev', ...args)
      assert.deepEqual(out, [`Set Boot Device to ${args[0]}`])
      assert.equal((await bmc.bootDevice()).device, device)
    }
  })

  test('LAN configuration: Anvil reads back what ipmitool set, on channel 0Eh and 1 alike', async () => {
    await ipmitool(sim, 'lan', 'set', '1', 'ipsrc', 'static')
    await ipmitool(sim, 'lan', 'set', '1', 'ipaddr', '10.77.0.99')
    await ipmitool(sim, 'lan', 'set', '1', 'macaddr', '52:54:00:12:34:56')
    const lan = await bmc.lanConfig()
    assert.deepEqual(lan, { ip: '10.77.0.99', mac: '52:54:00:12:34:56', source: 'static' })
    assert.deepEqual(await bmc.lanConfig(1), lan)
    const lines = await ipmitool(sim, 'lan', 'print', '1')
    assert.equal(field(lines, 'IP Address  '), lan.ip)
    assert.equal(field(lines, 'MAC Address'), lan.mac)
  })
})
