import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isCodedError } from '../lib/errors.ts'
import { parseMachineConfig } from '../machine-config/parse.ts'
import { renderMachineConfig } from '../machine-config/render.ts'
import { buildProgram } from './program.ts'

const EXAMPLE = readFileSync(new URL('../../docs/examples/machine.yaml', import.meta.url), 'utf8')
const dir = mkdtempSync(join(tmpdir(), 'anvil-config-'))
after(() => { rmSync(dir, { recursive: true, force: true }) })

function file (name: string, content: string | Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

/** Runs `anvil ARGS` as the CLI does (no server anywhere): what it printed and what it threw. */
async function run (args: string[]): Promise<{ out: string, err?: unknown }> {
  let out = ''
  const program = buildProgram(async () => { throw new Error('serve must not run') }, (t) => { out += t })
  try {
    await program.parseAsync(['--endpoint', 'http://127.0.0.1:1', ...args], { from: 'user' })
    return { out }
  } catch (err) {
    return { out, err }
  }
}

test('config validate: a valid file prints "FILE: valid" and a summary', async () => {
  const path = file('machine.yaml', EXAMPLE)
  const { out, err } = await run(['config', 'validate', path])
  assert.equal(err, undefined)
  assert.equal(out, `${path}: valid\n` +
    'node-01.rack1.lab.example: 2 interfaces, 2 VLANs, 3 static addresses, DHCP on 1; install disk by model "Samsung SSD 980*", minSize 400GiB, maxSize 2TB, transport nvme; ' +
    'services apid :50000, trustd :50001, ntp (2 servers); 3 kernel args, 3 sysctls\n')
})

test('config validate: every issue with its path, then ERR_MACHINE_CONFIG_INVALID (exit 1)', async () => {
  const path = file('bad.yaml', EXAMPLE.replace('10.77.0.21/24', '10.77.0.21').replace('hostname: node-01.rack1.lab.example', 'hostname: node_01').replace('transport: nvme', 'transport: nvme\n    device: nvme0n1'))
  const { out, err } = await run(['config', 'validate', path])
  assert.ok(isCodedError(err) && err.code === 'ERR_MACHINE_CONFIG_INVALID', String(err))
  assert.equal(err.message, `${path}: 3 issues`)
  assert.equal(out, `${path}: invalid (3 issues)\n` +
    '  hostname: node_01 is not a DNS name: labels of letters, digits and hyphens (not first or last), separated by dots (RFC 1123)\n' +
    '  install.disk.device: unknown key; a disk is selected by serial, wwn, model, minSize, maxSize, transport, rotational, never by a device name\n' +
    '  network.interfaces[0].addresses[0]: 10.77.0.21 is not a CIDR (10.77.0.21/24)\n')
})

test('config validate -o json: the normalized config, or the issues', async () => {
  const good = await run(['-o', 'json', 'config', 'validate', file('machine.yaml', EXAMPLE)])
  assert.equal(good.err, undefined)
  assert.deepEqual(JSON.parse(good.out), JSON.parse(JSON.stringify(parseMachineConfig(EXAMPLE))))
  const bad = await run(['-o', 'json', 'config', 'validate', file('dup.yaml', 'version: v1alpha1\nversion: v1alpha1\n')])
  assert.ok(isCodedError(bad.err) && bad.err.code === 'ERR_MACHINE_CONFIG_INVALID')
  assert.deepEqual(JSON.parse(bad.out), [{ path: 'line 2:1', message: 'duplicate key version', line: 2 }])
})

test('config validate -o yaml: the canonical text', async () => {
  const { out } = await run(['-o', 'yaml', 'config', 'validate', file('machine.yaml', EXAMPLE)])
  assert.equal(out, renderMachineConfig(parseMachineConfig(EXAMPLE)))
})

test('config validate: unreadable, binary and oversized files are clear errors', async () => {
  const missing = await run(['config', 'validate', join(dir, 'nope.yaml')])
  assert.ok(isCodedError(missing.err) && missing.err.code === 'ERR_MACHINE_CONFIG_UNREADABLE')
  assert.match(missing.err.message, /^cannot read machine config .*nope\.yaml: ENOENT/)
  const binary = await run(['config', 'validate', file('bin.yaml', Buffer.from([0x68, 0x3a, 0x20, 0xff, 0xfe, 0x0a]))])
  assert.ok(isCodedError(binary.err) && binary.err.code === 'ERR_MACHINE_CONFIG_UNREADABLE')
  assert.match(binary.err.message, /: it is not UTF-8 text$/)
  const big = await run(['config', 'validate', file('big.yaml', `# ${'x'.repeat(300_000)}\n`)])
  assert.ok(isCodedError(big.err) && big.err.code === 'ERR_MACHINE_CONFIG_INVALID')
  assert.match(big.err.message, /^invalid machine config \(1 issue\):\n {2}\(document\): the document is 300003 bytes; a machine config holds at most 262144 \(256 KiB\)$/)
})

test('config validate: a hostile value reaches the terminal escaped', async () => {
  const path = file('hostile.yaml', EXAMPLE.replace('hostname: node-01.rack1.lab.example', 'hostname: "\\e]0;pwned\\anode"'))
  const { out } = await run(['config', 'validate', path])
  assert.ok(![...out].some(c => /\p{Cc}/u.test(c) && c !== '\n'), out)
  assert.ok(out.includes('hostname: "\\u001b]0;pwned\\u0007node" is not a DNS name'), out)
})
