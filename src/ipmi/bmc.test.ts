import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { exchangesFor, loadCapture, type Exchange } from '../../test/fixtures/ipmi/commands/fixtures.ts'
import { IpmiBmc } from './bmc.ts'
import { BmcError } from '../power/errors.ts'
import { IpmiCompletionError } from './errors.ts'
import type { IpmiRequest, IpmiTransport } from './types.ts'

/**
 * Answers each request with the response of the first unused captured exchange whose request has
 * the same bytes (non-zero completion codes reject, as a session does); anything else fails the test.
 */
class ReplayTransport implements IpmiTransport {
  readonly sent: IpmiRequest[] = []
  readonly #pending: Exchange[]

  constructor (exchanges: readonly Exchange[]) {
    this.#pending = [...exchanges]
  }

  async request (req: IpmiRequest): Promise<Buffer> {
    this.sent.push(req)
    const at = this.#pending.findIndex((e) => e.request.netFn === req.netFn && e.request.cmd === req.cmd && e.request.data.equals(req.data))
    if (at < 0) throw new Error(`no captured exchange for netFn ${req.netFn} cmd ${req.cmd} data ${req.data.toString('hex')}`)
    const [e] = this.#pending.splice(at, 1) as [Exchange]
    if (e.response.cc !== 0) throw new IpmiCompletionError(e.response.cc, 'replayed request')
    return e.response.data
  }
}

/** A transport whose replies come from a function: for BMC behaviour ipmi_sim does not show. */
class ScriptTransport implements IpmiTransport {
  readonly sent: string[] = []
  readonly #answer: (hex: string) => Buffer | number | Error

  constructor (answer: (hex: string) => Buffer | number | Error) {
    this.#answer = answer
  }

  async request (req: IpmiRequest): Promise<Buffer> {
    const hex = `${req.netFn.toString(16).padStart(2, '0')}${req.cmd.toString(16).padStart(2, '0')}:${req.data.toString('hex')}`
    this.sent.push(hex)
    const a = this.#answer(hex)
    if (a instanceof Error) throw a
    if (typeof a === 'number') throw new IpmiCompletionError(a, 'scripted request')
    return a
  }
}

const only = (name: string, netFn: number, cmd: number): Exchange[] => exchangesFor(loadCapture(name), netFn, cmd)

describe('IpmiBmc over replayed ipmitool ↔ ipmi_sim exchanges', () => {
  test('deviceId(), systemGuid(), and deviceGuid() named when ipmi_sim has no such command', async () => {
    const t = new ReplayTransport([...only('mc-info', 0x06, 0x01), ...only('mc-guid', 0x06, 0x37), ...only('device-guid', 0x06, 0x08)])
    const bmc = new IpmiBmc(t)
    assert.equal((await bmc.deviceId()).manufacturerId, 4753)
    assert.equal((await bmc.systemGuid()).guid, '77665544-3322-1100-efcd-ab89674523a1')
    await assert.rejects(bmc.deviceGuid(), (err: unknown) => {
      assert.ok(err instanceof IpmiCompletionError)
      assert.equal(err.code, 'ERR_BMC_COMPLETION')
      assert.equal(err.message, 'Get Device GUID: the BMC answered invalid command (0xc1)')
      return true
    })
  })

  test('chassisStatus() and powerState() before and after power on', async () => {
    const bmc = new IpmiBmc(new ReplayTransport([...only('chassis-status-off', 0, 1), ...only('chassis-status-on', 0, 1)]))
    assert.equal(await bmc.powerState(), 'off')
    assert.equal((await bmc.chassisStatus()).powerOn, true)
  })

  for (const action of ['on', 'off', 'cycle', 'reset', 'soft'] as const) {
    test(`chassisControl('${action}') sends what \`ipmitool chassis power ${action}\` sent`, async () => {
      const t = new ReplayTransport(only(`power-${action}`, 0, 2))
      await new IpmiBmc(t).chassisControl(action)
      assert.equal(t.sent.length, 1)
    })
  }

  for (const [name, flags] of [
    ['bootdev-pxe', { device: 'pxe', persistent: false, efi: false }],
    ['bootdev-pxe-persistent-efi', { device: 'pxe', persistent: true, efi: true }],
    ['bootdev-disk-persistent', { device: 'disk', persistent: true, efi: false }],
    ['bootdev-none', { device: 'none', persistent: false, efi: false }]
  ] as const) {
    test(`setBootDevice(${JSON.stringify(flags)}) is ipmitool's exact sequence (${name})`, async () => {
      const captured = only(name, 0, 8)
      const t = new ReplayTransport(captured)
      await new IpmiBmc(t).setBootDevice(flags)
      assert.deepEqual(t.sent, captured.map((e) => e.request))
    })
  }

  test('bootDevice() reads parameter 5 as ipmi_sim keeps it (device only, valid bit clear)', async () => {
    const bmc = new IpmiBmc(new ReplayTransport([...only('bootparam-get-5-pxe', 0, 9), ...only('bootparam-get-5-none', 0, 9)]))
    assert.deepEqual(await bmc.bootDevice(), { device: 'pxe', selector: 'pxe', persistent: false, efi: false, valid: false })
    assert.deepEqual(await bmc.bootDevice(), { device: 'none', selector: 'none', persistent: false, efi: false, valid: false })
  })

  test('lanConfig(1) reads IP, MAC and source from the `lan print 1` answers', async () => {
    const t = new ReplayTransport(only('lan-print', 0x0c, 0x02))
    assert.deepEqual(await new IpmiBmc(t).lanConfig(1), { ip: '10.77.0.21', mac: '52:54:00:aa:bb:21', source: 'static' })
    assert.deepEqual(t.sent.map((r) => r.data.toString('hex')), ['01030000', '01050000', '01040000'])
  })
})

describe('IpmiBmc with scripted BMC behaviour', () => {
  const ok = Buffer.alloc(0)

  test('a BMC with a set-in-progress lock gets in progress, ack, flags, commit write, set complete', async () => {
    const t = new ScriptTransport(() => ok)
    await new IpmiBmc(t).setBootDevice({ device: 'disk', persistent: false, efi: true })
    assert.deepEqual(t.sent, ['0008:0001', '0008:040101', '0008:05a008000000', '0008:0002', '0008:0000'])
  })

  test('a refused flags write still releases the lock, and rejects with the command-specific name', async () => {
    const t = new ScriptTransport((hex) => hex.startsWith('0008:05') ? 0x80 : ok)
    await assert.rejects(new IpmiBmc(t).setBootDevice({ device: 'pxe', persistent: false, efi: false }), (err: unknown) => {
      assert.ok(err instanceof IpmiCompletionError)
      assert.equal(err.completionCode, 0x80)
      assert.equal(err.message, 'Set System Boot Options: the BMC answered parameter not supported (0x80)')
      return true
    })
    assert.deepEqual(t.sent, ['0008:0001', '0008:040101', '0008:058004000000', '0008:0000'])
  })

  test('without a lock (0xCC) the next write skips set-in-progress; a busy lock (0x81) is retried next time', async () => {
    const noLock = new ScriptTransport((hex) => hex === '0008:0001' ? 0xcc : ok)
    const a = new IpmiBmc(noLock)
    await a.setBootDevice({ device: 'pxe', persistent: false, efi: false })
    await a.setBootDevice({ device: 'disk', persistent: false, efi: false })
    assert.deepEqual(noLock.sent, ['0008:0001', '0008:040101', '0008:058004000000', '0008:040101', '0008:058008000000'])
    const busy = new ScriptTransport((hex) => hex === '0008:0001' ? 0x81 : ok)
    const b = new IpmiBmc(busy)
    await b.setBootDevice({ device: 'pxe', persistent: false, efi: false })
    await b.setBootDevice({ device: 'pxe', persistent: false, efi: false })
    assert.equal(busy.sent.filter((s) => s === '0008:0001').length, 2)
  })

  test('a BMC without boot info acknowledge still gets its flags', async () => {
    const t = new ScriptTransport((hex) => hex === '0008:040101' || hex === '0008:0001' ? 0x80 : ok)
    await new IpmiBmc(t).setBootDevice({ device: 'pxe', persistent: true, efi: false })
    assert.deepEqual(t.sent, ['0008:0001', '0008:040101', '0008:05c004000000'])
  })

  test('transport failures pass through untouched; a short answer is ERR_BMC_PROTOCOL', async () => {
    const down = new Error('unreachable')
    await assert.rejects(new IpmiBmc(new ScriptTransport(() => down)).powerState(), (err) => err === down)
    await assert.rejects(new IpmiBmc(new ScriptTransport(() => Buffer.of(1, 0))).chassisStatus(), (err: unknown) => {
      assert.ok(err instanceof BmcError)
      assert.equal(err.code, 'ERR_BMC_PROTOCOL')
      assert.match(err.message, /^Get Chassis Status: malformed response: truncated misc chassis state/)
      return true
    })
    await assert.rejects(new IpmiBmc(new ScriptTransport(() => Buffer.from('01040000', 'hex'))).bootDevice(), { code: 'ERR_BMC_PROTOCOL' })
  })

  test('bootDevice() maps selectors Anvil does not set to other, naming them', async () => {
    const bmc = new IpmiBmc(new ScriptTransport(() => Buffer.from('0105e014000000', 'hex')))
    assert.deepEqual(await bmc.bootDevice(), { device: 'other', selector: 'cdrom', persistent: true, efi: true, valid: true })
  })

  test('lanConfig() defaults to channel 0Eh, the channel the session uses', async () => {
    const t = new ScriptTransport((hex) => hex.endsWith('0e030000') ? Buffer.from('110a000002', 'hex') : hex.endsWith('0e050000') ? Buffer.from('11020000000001', 'hex') : Buffer.from('1102', 'hex'))
    assert.deepEqual(await new IpmiBmc(t).lanConfig(), { ip: '10.0.0.2', mac: '02:00:00:00:00:01', source: 'dhcp' })
  })
})
