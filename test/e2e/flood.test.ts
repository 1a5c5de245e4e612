// Lab tier: a flood of malformed datagrams (every truncated prefix of real and PXE-shaped packets,
// mutated packets, random bytes; 20,000 in all) at Anvil's ports 67, 4011 and 69 from a host on
// the lab bridge; afterwards the server is still up, still answers a PXE DISCOVER on 67 and a boot
// server REQUEST on 4011, a TFTP client still gets a byte-exact file, and a UEFI VM still boots.
import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { LAB_NET, inNamespace } from '../../lab/netns.ts'
import { run } from '../../lab/proc.ts'
import { vmIdentity } from '../../lab/qemu.ts'
import { tail, waitForBoot } from '../helpers/lab-boot.ts'
import { labSkipReason, startTestLab } from '../helpers/lab-env.ts'
import { buildFlood, encodeFlood } from '../helpers/lab-flood.ts'

const skip = labSkipReason()
if (skip !== undefined) console.log(`# skipping the lab flood test: ${skip}`)

const TOTAL = 20_000

test('Anvil survives a flood of malformed datagrams on 67, 4011 and 69, then still boots a VM', { skip, timeout: 300_000 }, async (t) => {
  const testLab = await startTestLab('proxy')
  let passed = false
  t.after(async () => await testLab.cleanup(!passed))
  const { lab, runDir } = testLab
  const client = await lab.attachClient('cli', LAB_NET.clientAddress)
  const probeDhcp = async (): Promise<{ offer: boolean, ack: boolean }> => {
    const probe = join(REPO_ROOT, 'test/helpers/lab-dhcp-probe.ts')
    const out = await run(inNamespace(client, [process.execPath, '--import', 'tsx', probe, LAB_NET.serverAddress, LAB_NET.clientAddress]), { timeoutMs: 60_000, cwd: REPO_ROOT })
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { offer: boolean, ack: boolean }
  }
  // Control: the probe gets a proxy OFFER on 67 and an ACK on 4011 before the flood.
  assert.deepEqual(await probeDhcp(), { offer: true, ack: true }, 'PXE OFFER (67) and ACK (4011) before the flood')

  // Reproducible: rerun a failure with ANVLAB_FLOOD_SEED=<seed printed here>.
  const seed = Number(process.env.ANVLAB_FLOOD_SEED ?? randomInt(0, 2 ** 31))
  console.log(`# flood seed ${seed}`)
  const flood = buildFlood(seed, TOTAL)
  const floodFile = join(runDir, 'flood.bin')
  writeFileSync(floodFile, encodeFlood(flood))
  const sender = join(REPO_ROOT, 'test/helpers/lab-flood-send.ts')
  const out = await run(inNamespace(client, [process.execPath, '--import', 'tsx', sender, floodFile, LAB_NET.serverAddress]), { timeoutMs: 180_000, cwd: REPO_ROOT })
  const summary = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { sent: number, failed: number, perPort: Record<string, number>, ms: number }
  console.log(`# flood: ${JSON.stringify(summary)}`)
  assert.ok(summary.sent >= flood.length * 0.99, `the flood was sent (${summary.sent} of ${flood.length})`)
  for (const port of ['67', '4011', '69']) assert.ok((summary.perPort[port] ?? 0) > 1000, `port ${port} got its share`)

  assert.ok(lab.anvil.daemon.alive(), `anvil survived the flood\n${tail(lab.anvil.daemon.logFile, 3000)}`)
  // The flood reached the server rather than a full socket buffer: at log level debug, Anvil logs
  // each datagram it dropped as malformed (the truncated prefixes alone are several thousand).
  const dropped = readFileSync(lab.anvil.daemon.logFile, 'utf8').split('\n').filter(l => /malformed/i.test(l)).length
  console.log(`# anvil logged ${dropped} malformed datagrams`)
  assert.ok(dropped >= 1000, `anvil saw the flood (${dropped} malformed datagrams logged)`)
  assert.ok(Array.isArray(await lab.api.machines()), 'the admin API still answers')
  // Neither iPXE nor OVMF uses port 4011 when the offer names the boot file, so probe it directly.
  assert.deepEqual(await probeDhcp(), { offer: true, ack: true }, 'PXE OFFER (67) and ACK (4011) after the flood')

  // A real TFTP client still gets the UEFI first stage, byte for byte.
  const fetched = join(runDir, 'snponly.efi')
  await run(inNamespace(client, ['curl', '-sS', '--max-time', '60', '--tftp-blksize', '1468', '-o', fetched, `tftp://${LAB_NET.serverAddress}/snponly.efi`]), { timeoutMs: 70_000 })
  assert.ok(readFileSync(fetched).equals(readFileSync(join(REPO_ROOT, 'boot-assets/snponly.efi'))), 'TFTP after the flood returns the exact file')

  // And real firmware still boots through the flooded ports: OVMF needs Anvil's proxy offer (67)
  // and snponly.efi over TFTP (69) before iPXE can fetch the script; boot.test.ts checks the rest.
  const vm = vmIdentity(1, 'uefi')
  await lab.startVm(vm)
  const { machine } = await waitForBoot(lab, vm, ['dhcp.offer', 'http.script'], 150_000)
  assert.equal(machine.uuid, vm.uuid)
  assert.deepEqual(machine.macs, [vm.mac])
  await lab.stopVm(vm.name)
  assert.ok(lab.anvil.daemon.alive(), 'anvil is still running at the end')
  passed = true
})
