import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { SysTree } from '../sysfs.ts'
import { execIpmitool, parseLanPrint, readBmc, type IpmitoolResult, type IpmitoolRunner } from './bmc.ts'

// `ipmitool lan print` text captured from Debian's ipmitool against Debian's ipmi_sim by
// test/fixtures/agent/ipmitool/capture.sh (README there); the values asserted are the ones that
// script set on the simulated BMC's LAN channel.
const fixtureDir = new URL('../../../test/fixtures/agent/ipmitool/', import.meta.url)
const fixture = (name: string): string => readFileSync(new URL(name, fixtureDir), 'utf8')
const vmRoot = (vm: string): string => fileURLToPath(new URL(`../../../test/fixtures/agent/${vm}`, import.meta.url))
const EMPTY = { ip: '', mac: '', ipSource: '' }
const STATIC = { ip: '10.77.5.21', mac: '52:54:00:b1:00:21', ipSource: 'static' }

test('parseLanPrint reads the address, MAC and source ipmitool printed for ipmi_sim', () => {
  assert.deepEqual(parseLanPrint(fixture('lan-print-static.txt')), STATIC)
  assert.deepEqual(parseLanPrint(fixture('lan-print-dhcp.txt')), { ...STATIC, ipSource: 'dhcp' })
})

test('parseLanPrint: an unconfigured BMC (0.0.0.0, all-zero MAC) and a non-LAN channel give empty fields', () => {
  assert.deepEqual(parseLanPrint(fixture('lan-print-unset.txt')), { ...EMPTY, ipSource: 'unspecified' })
  assert.equal(fixture('lan-print-channel-2.status').trim(), '1')
  assert.deepEqual(parseLanPrint(fixture('lan-print-channel-2.stdout.txt')), EMPTY)
  assert.deepEqual(parseLanPrint(fixture('lan-print-channel-2.stderr.txt')), EMPTY)
})

test('parseLanPrint: every truncated prefix gives each field whole or empty, never a cut value', () => {
  const text = fixture('lan-print-static.txt')
  for (let n = 0; n <= text.length; n++) {
    const got = parseLanPrint(text.slice(0, n))
    assert.ok(got.ip === '' || got.ip === STATIC.ip, `prefix ${n}: ip ${got.ip}`)
    assert.ok(got.mac === '' || got.mac === STATIC.mac, `prefix ${n}: mac ${got.mac}`)
    assert.ok(got.ipSource === '' || got.ipSource === STATIC.ipSource, `prefix ${n}: source ${got.ipSource}`)
  }
  // A line cut inside its value is not read: "10.77.5.2" would be a valid, wrong, address.
  const cut = text.indexOf('10.77.5.21') + '10.77.5.2'.length
  assert.equal(parseLanPrint(text.slice(0, cut)).ip, '')
  assert.equal(parseLanPrint(text.slice(0, text.indexOf('\n', cut) + 1)).ip, STATIC.ip)
})

test('parseLanPrint: garbage, mutated and odd values never throw and give nothing invented', () => {
  const text = fixture('lan-print-static.txt')
  let seed = 0x2545f491
  const rand = (n: number): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5
    return (seed >>> 0) % n
  }
  for (let i = 0; i < 2000; i++) {
    const chars = [...text]
    for (let k = 0; k < 1 + rand(8); k++) chars[rand(chars.length)] = String.fromCharCode(rand(256))
    const got = parseLanPrint(chars.join(''))
    for (const v of [got.ip, got.mac]) assert.equal(typeof v, 'string')
    assert.ok(['', 'static', 'dhcp', 'bios', 'other', 'unspecified'].includes(got.ipSource), got.ipSource)
  }
  for (let i = 0; i < 500; i++) {
    const bytes = Buffer.from(Array.from({ length: rand(400) }, () => rand(256)))
    parseLanPrint(bytes.toString('latin1'))
  }
  assert.deepEqual(parseLanPrint(''), EMPTY)
  assert.deepEqual(parseLanPrint(':\n::::\n : \n'), EMPTY)
  assert.deepEqual(parseLanPrint('IP Address : 10.77.5.256\nMAC Address : 52:54:00:b1:00\nIP Address Source : Static\n'), EMPTY)
  assert.deepEqual(parseLanPrint('IP Address Source : BIOS Assigned Address\r\nIP Address : 192.0.2.9\r\nMAC Address : 52-54-00-B1-00-FF\r\n'),
    { ip: '192.0.2.9', mac: '52:54:00:b1:00:ff', ipSource: 'bios' })
})

/** A runner that answers each channel from a table and records what it was asked. */
function scripted (answers: Record<number, IpmitoolResult>): { run: IpmitoolRunner, calls: string[][] } {
  const calls: string[][] = []
  const invalid = (ch: number): IpmitoolResult => ({
    stdout: '',
    stderr: fixture('lan-print-channel-2.stderr.txt').replace('channel: 2', `channel: ${ch}`),
    failure: { kind: 'failed', reason: 'exit 1' }
  })
  return {
    calls,
    run: async (args) => {
      calls.push([...args])
      const ch = Number(args.at(-1))
      return answers[ch] ?? invalid(ch)
    }
  }
}

test('readBmc: no /dev/ipmi0, no BMC; a captured tree is not asked (no device behind the file)', async () => {
  const { run, calls } = scripted({ 1: { stdout: fixture('lan-print-static.txt'), stderr: '' } })
  assert.equal(await readBmc(new SysTree(vmRoot('vm2')), { run }), undefined)
  assert.equal(calls.length, 0)
  assert.deepEqual(await readBmc(new SysTree(vmRoot('vm1'))), EMPTY)
})

test('readBmc asks channel 1 first with `-I open lan print 1` and reports what it printed', async () => {
  const { run, calls } = scripted({ 1: { stdout: fixture('lan-print-static.txt'), stderr: '' } })
  const lines: string[] = []
  assert.deepEqual(await readBmc(new SysTree(vmRoot('vm1')), { run, log: (l) => lines.push(l) }), STATIC)
  assert.deepEqual(calls, [['-I', 'open', 'lan', 'print', '1']])
  assert.match(lines.join('\n'), /channel 1: ip 10\.77\.5\.21, mac 52:54:00:b1:00:21, source static/)
})

test('readBmc walks channels past "Invalid channel" until one is a LAN channel', async () => {
  const { run, calls } = scripted({ 3: { stdout: fixture('lan-print-dhcp.txt'), stderr: '' } })
  assert.deepEqual(await readBmc(new SysTree(vmRoot('vm1')), { run, log: () => {} }), { ...STATIC, ipSource: 'dhcp' })
  assert.deepEqual(calls.map((c) => c.at(-1)), ['1', '2', '3'])
})

test('readBmc: no LAN channel at all tries 1..11 once each and reports empty fields with the reasons', async () => {
  const { run, calls } = scripted({})
  const lines: string[] = []
  assert.deepEqual(await readBmc(new SysTree(vmRoot('vm1')), { run, log: (l) => lines.push(l) }), EMPTY)
  assert.deepEqual(calls.map((c) => c.at(-1)), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11'])
  assert.match(lines.join('\n'), /LAN address unknown \(channel 1: exit 1: .*Invalid channel: 1;/)
})

test('readBmc: ipmitool missing, or a failure that is not about the channel, stops at once', async () => {
  for (const failure of [
    { stdout: '', stderr: '', failure: { kind: 'missing', reason: 'ipmitool not found' } },
    { stdout: '', stderr: 'Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: No such file or directory\n', failure: { kind: 'failed', reason: 'exit 1' } },
    { stdout: '', stderr: '', failure: { kind: 'failed', reason: 'no answer within 5000 ms' } },
    { stdout: 'something else entirely\n', stderr: '' }
  ] satisfies IpmitoolResult[]) {
    const { run, calls } = scripted({ 1: failure })
    const lines: string[] = []
    assert.deepEqual(await readBmc(new SysTree(vmRoot('vm1')), { run, log: (l) => lines.push(l) }), EMPTY)
    assert.equal(calls.length, 1, JSON.stringify(failure))
    assert.match(lines.join('\n'), new RegExp(`LAN address unknown \\(channel 1: ${failure.failure?.reason ?? 'exit 0 without a LAN listing'}`))
  }
})

test('readBmc: a BMC without Get Channel Info (QEMU\'s ipmi-bmc-sim) is asked once, not on every channel', async () => {
  // What ipmitool printed in the boot environment against QEMU's ipmi-bmc-sim (lab run, agent log).
  const stderr = 'IANA PEN registry open failed: No such file or directory\nGet Channel Info command failed: Invalid command\nInvalid channel: 1\n'
  const { run, calls } = scripted({ 1: { stdout: '', stderr, failure: { kind: 'failed', reason: 'exit 1' } } })
  const lines: string[] = []
  assert.deepEqual(await readBmc(new SysTree(vmRoot('vm1')), { run, log: (l) => lines.push(l) }), EMPTY)
  assert.equal(calls.length, 1)
  assert.equal(lines.join('\n'), 'BMC: LAN address unknown (channel 1: exit 1: Get Channel Info command failed: Invalid command / Invalid channel: 1)')
})

test('readBmc: the whole search shares one time budget; each run gets what is left', async () => {
  let clock = 0
  const budgets: number[] = []
  const run: IpmitoolRunner = async (args, timeoutMs) => {
    budgets.push(timeoutMs)
    clock += 1800 // each channel takes 1.8 s of the 5 s
    return { stdout: '', stderr: `Invalid channel: ${args.at(-1) ?? ''}\n`, failure: { kind: 'failed', reason: 'exit 1' } }
  }
  const lines: string[] = []
  assert.deepEqual(await readBmc(new SysTree(vmRoot('vm1')), { run, log: (l) => lines.push(l), now: () => clock, budgetMs: 5000 }), EMPTY)
  assert.deepEqual(budgets, [5000, 3200, 1400])
  assert.match(lines.join('\n'), /out of time after 5000 ms/)
})

test('execIpmitool runs the real program with an explicit argv, and says when it is missing', { skip: hasIpmitool() ? undefined : 'ipmitool not installed' }, async () => {
  const ok = await execIpmitool(['-V'], 5000)
  assert.equal(ok.failure, undefined)
  assert.match(ok.stdout, /^ipmitool version \d/)
  const bad = await execIpmitool(['-I', 'no-such-interface', 'lan', 'print', '1'], 5000)
  assert.equal(bad.failure?.kind, 'failed')
  assert.match(bad.failure?.reason ?? '', /^exit \d+$/)
})

function hasIpmitool (): boolean {
  try {
    execFileSync('ipmitool', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
