// `anvil ipmi ...`, the ad-hoc tool, against a real ipmi_sim: every verb, read-back, and the error
// codes an operator sees for a wrong password and a BMC that does not answer.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { freeUdpPort, ipmiSimSkipReason, startIpmiSim, type SimBmc } from '../helpers/ipmi-sim.ts'
import { ANVIL } from '../helpers/server-process.ts'

const skip = ipmiSimSkipReason()
if (skip !== undefined) console.log(`# skipping the anvil ipmi CLI test: ${skip}`)
let sim: SimBmc | undefined

before(async () => { if (skip === undefined) sim = await startIpmiSim({ password: 'cli-pw' }) })
after(async () => { await sim?.stop() })

async function anvilIpmi (args: readonly string[], password: string, port = sim?.port ?? 0): Promise<{ code: number, stdout: string, stderr: string }> {
  const child = spawn(ANVIL, ['ipmi', '--host', '127.0.0.1', '--port', String(port), '--user', 'admin', '--password-stdin', '--timeout', '200', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString() })
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  child.stdin.end(password + '\n')
  const [code] = await once(child, 'exit') as [number]
  return { code, stdout, stderr }
}

test('anvil ipmi power and bootdev against ipmi_sim, read back', { skip, timeout: 60_000 }, async () => {
  const s = sim as SimBmc
  let r = await anvilIpmi(['power', 'on'], 'cli-pw')
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, 'Chassis power is on\n')
  assert.equal((await s.readChassis()).power, 'on')
  await s.writeChassis({ power: 'off' })
  r = await anvilIpmi(['power', 'status', '-o', 'json'], 'cli-pw')
  assert.deepEqual(JSON.parse(r.stdout), { state: 'off' })
  r = await anvilIpmi(['bootdev', 'pxe', '--efi'], 'cli-pw')
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^Boot device is pxe/)
  assert.equal((await s.readChassis()).boot, 'pxe')
  r = await anvilIpmi(['info', '-o', 'json'], 'cli-pw')
  assert.equal(JSON.parse(r.stdout).device.ipmiVersion, '2.0')
})

test('anvil ipmi: a wrong password and a silent port give their codes and exit 1', { skip, timeout: 60_000 }, async () => {
  let r = await anvilIpmi(['power', 'status'], 'Zq-not-it-9')
  assert.equal(r.code, 1)
  assert.match(r.stderr, /\[ERR_BMC_AUTH\]/)
  assert.ok(!r.stderr.includes('Zq-not-it-9'), 'the password is never echoed')
  r = await anvilIpmi(['power', 'status'], 'x', await freeUdpPort())
  assert.equal(r.code, 1)
  assert.match(r.stderr, /\[ERR_BMC_UNREACHABLE\]/)
})
