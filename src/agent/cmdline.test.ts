import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bootMac, parseCmdline } from './cmdline.ts'

const FP = 'ab'.repeat(32)

test('the discovery kernel command line', () => {
  const line = `initrd=initramfs.zst anvil.grpc=10.77.0.1:8443 anvil.token=tok-123 anvil.fingerprint=${FP} BOOTIF=01-52-54-00-A1-00-01 console=ttyS0 panic=-1 quiet\n`
  assert.deepEqual(parseCmdline(line), { host: '10.77.0.1', port: 8443, token: 'tok-123', fingerprint: FP, bootMac: '52:54:00:a1:00:01' })
})

test('IPv6 and host names; no BOOTIF (UEFI without iPXE hint)', () => {
  assert.deepEqual(parseCmdline(`anvil.grpc=[fd77::1]:8443 anvil.token=t anvil.fingerprint=${FP}`),
    { host: 'fd77::1', port: 8443, token: 't', fingerprint: FP, bootMac: '' })
  assert.equal(parseCmdline(`anvil.grpc=anvil.lab:443 anvil.token=t anvil.fingerprint=${FP}`).host, 'anvil.lab')
})

test('missing or malformed arguments are refused with ERR_AGENT_CMDLINE', () => {
  for (const bad of ['', `anvil.grpc=10.0.0.1 anvil.token=t anvil.fingerprint=${FP}`, `anvil.grpc=10.0.0.1:0 anvil.token=t anvil.fingerprint=${FP}`,
    `anvil.grpc=10.0.0.1:8443 anvil.fingerprint=${FP}`, 'anvil.grpc=10.0.0.1:8443 anvil.token=t anvil.fingerprint=abc']) {
    assert.throws(() => parseCmdline(bad), { code: 'ERR_AGENT_CMDLINE' }, bad)
  }
})

test('BOOTIF forms', () => {
  assert.equal(bootMac('01-aa-bb-cc-dd-ee-ff'), 'aa:bb:cc:dd:ee:ff')
  assert.equal(bootMac('06-aa-bb-cc-dd-ee-ff'), '') // not Ethernet
  assert.equal(bootMac('aa:bb:cc:dd:ee:ff'), '')
})
