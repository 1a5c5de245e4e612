// The product's power path end to end against real BMCs: `anvil serve` (its API, PowerService,
// pooled native IPMI sessions) and the `anvil` CLI, driving Debian's ipmi_sim on loopback, with
// ipmitool as the independent cross-check of what Anvil set and Anvil reading what ipmitool set.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freeUdpPort, ipmiSimSkipReason, startIpmiSim, type SimBmc } from '../helpers/ipmi-sim.ts'
import { ANVIL, killAllServers, startServerProcess, type ServerProcess } from '../helpers/server-process.ts'

const run = promisify(execFile)
const skip = ipmiSimSkipReason()
if (skip !== undefined) console.log(`# skipping the power API integration test: ${skip}`)

let dir = ''
let server: ServerProcess | undefined
let sims: SimBmc[] = []
let env: NodeJS.ProcessEnv = {}

async function cli (args: readonly string[], stdin?: string): Promise<{ code: number, stdout: string, stderr: string }> {
  const child = spawn(ANVIL, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString() })
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  child.stdin.end(stdin ?? '')
  const [code] = await once(child, 'exit') as [number]
  return { code, stdout, stderr }
}

async function cliJson<T> (args: readonly string[], stdin?: string): Promise<T> {
  const r = await cli([...args, '-o', 'json'], stdin)
  assert.equal(r.code, 0, `anvil ${args.join(' ')} failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

async function ipmitool (sim: SimBmc, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', sim.host, '-p', String(sim.port), '-U', sim.user, '-P', sim.password, ...args])
  // ipmitool exits 0 even when a command failed (LAB-NOTES): its stderr says so.
  assert.equal(stderr.trim(), '', `ipmitool ${args.join(' ')}: ${stderr}`)
  return stdout
}

before(async () => {
  if (skip !== undefined) return
  dir = await mkdtemp(join(tmpdir(), 'anvil-power-'))
  sims = await Promise.all([startIpmiSim({ password: 'pw-alpha' }), startIpmiSim({ password: 'pw-beta' }), startIpmiSim({ password: 'pw-gamma' })])
  const config = join(dir, 'anvil.yaml')
  await writeFile(config, [
    `dataDir: ${join(dir, 'var')}`,
    `bootAssets: ${join(dir, 'assets')}`,
    'log: { level: debug }',
    'http: { listen: "127.0.0.1:0" }',
    'api: { listen: "127.0.0.1:0" }',
    'tftp: { enabled: false }',
    'dhcp: { mode: "off" }',
    'power: { powerOnStagger: 0, retries: 0, readBackTimeout: 10s, ipmi: { timeout: 300ms, retries: 1 } }'
  ].join('\n') + '\n')
  server = await startServerProcess(config)
  const ready = server.lines.find(l => l.msg === 'anvil ready') as { listening: { api: string } }
  env = { ...process.env, ANVIL_ENDPOINT: `http://${ready.listening.api}`, ANVIL_TOKEN_FILE: join(dir, 'var', 'admin.token') }
})

after(async () => {
  killAllServers()
  await Promise.all(sims.map(async s => { await s.stop() }))
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

type Machine = { id: string, state: string, bmc: { address: string, port: number, user: string } | null }

test('enrol with BMCs through the CLI, power on/off with read-back, boot device, status of all', { skip, timeout: 120_000 }, async () => {
  const [alpha, beta, gamma] = sims as [SimBmc, SimBmc, SimBmc]
  const enrol = async (mac: string, sim: SimBmc, password: string): Promise<Machine> =>
    await cliJson<Machine>(['machines', 'add', '--mac', mac, '--bmc-address', sim.host, '--bmc-port', String(sim.port), '--bmc-user', sim.user, '--bmc-password-stdin'], `${password}\n`)
  const a = await enrol('52:54:00:99:00:01', alpha, alpha.password)
  assert.equal(a.state, 'enrolled')
  assert.deepEqual(a.bmc && { address: a.bmc.address, port: a.bmc.port, user: a.bmc.user }, { address: '127.0.0.1', port: alpha.port, user: 'admin' })
  const b = await enrol('52:54:00:99:00:02', beta, beta.password)
  const wrong = await enrol('52:54:00:99:00:03', gamma, 'not-the-password')
  const dead = await cliJson<Machine>(['machines', 'add', '--mac', '52:54:00:99:00:04', '--bmc-address', '127.0.0.1', '--bmc-port', String(await freeUdpPort()), '--bmc-user', 'admin', '--bmc-password-stdin'], 'x')

  // Anvil sets, ipmitool and the chassis read back.
  const on = await cliJson<{ state: string }>(['power', 'on', a.id])
  assert.equal(on.state, 'on')
  assert.equal((await alpha.readChassis()).power, 'on')
  assert.match(await ipmitool(alpha, 'chassis', 'power', 'status'), /Chassis Power is on/)

  const boot = await cliJson<{ device: string }>(['bootdev', a.id, 'pxe'])
  assert.equal(boot.device, 'pxe')
  assert.equal((await alpha.readChassis()).boot, 'pxe')
  assert.match(await ipmitool(alpha, 'chassis', 'bootparam', 'get', '5'), /Force PXE/)

  // ipmitool sets, Anvil reads back.
  await ipmitool(alpha, 'chassis', 'power', 'off')
  assert.equal((await cliJson<{ state: string }>(['power', 'status', a.id])).state, 'off')
  await ipmitool(alpha, 'chassis', 'bootdev', 'disk')
  assert.equal((await cliJson<{ device: string }>(['bootdev', a.id])).device, 'disk')

  assert.equal((await cliJson<{ state: string }>(['power', 'cycle', b.id])).state, 'on')
  assert.equal((await cliJson<{ state: string }>(['power', 'off', b.id])).state, 'off')
  assert.equal((await beta.readChassis()).power, 'off')

  // Every machine at once: states, and each failure with its code.
  const all = await cliJson<{ machineId: string, state?: string, error?: { code: string } }[]>(['power', 'status', '--all'])
  const byId = new Map(all.map(l => [l.machineId, l]))
  assert.equal(byId.get(a.id)?.state, 'off')
  assert.equal(byId.get(b.id)?.state, 'off')
  assert.equal(byId.get(wrong.id)?.error?.code, 'ERR_BMC_AUTH')
  assert.equal(byId.get(dead.id)?.error?.code, 'ERR_BMC_UNREACHABLE')

  // The CLI prints the code and exits 1 on a BMC error.
  const refused = await cli(['power', 'on', wrong.id])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /\[ERR_BMC_AUTH\]/)

  const timeline = await cliJson<{ type: string }[]>(['machines', 'timeline', a.id])
  const types = timeline.map(e => e.type)
  for (const t of ['machine.enrolled', 'bmc.set', 'power.action', 'power.boot-device']) assert.ok(types.includes(t), `timeline has ${t}: ${types.join(', ')}`)
  assert.ok((await cliJson<{ type: string }[]>(['machines', 'timeline', wrong.id])).some(e => e.type === 'power.error'))

  // The two good BMCs' sessions stay open for reuse (the wrong password's and the dead port's are not pooled).
  const token = (await readFile(env.ANVIL_TOKEN_FILE as string, 'utf8')).trim()
  const metrics = await (await fetch(`${env.ANVIL_ENDPOINT as string}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
  assert.match(metrics, /^anvil_ipmi_sessions 2$/m)
  assert.match(metrics, /^anvil_agent_sessions 0$/m)
})

test('BMC passwords are sealed on disk and never in a log line or answer', { skip }, async () => {
  const files = await readdir(join(dir, 'var'))
  const bytes = Buffer.concat(await Promise.all(files.map(async f => await readFile(join(dir, 'var', f)))))
  const logs = JSON.stringify(server?.lines ?? []) + (server?.stderr() ?? '')
  const answers = (await cli(['machines', 'list', '-o', 'json'])).stdout
  assert.ok(answers.includes('"bmc"'))
  for (const pw of ['pw-alpha', 'pw-beta', 'not-the-password']) {
    assert.ok(!bytes.includes(pw), `${pw} not in the data dir in clear`)
    assert.ok(!logs.includes(pw), `${pw} not logged`)
    assert.ok(!answers.includes(pw), `${pw} not answered`)
  }
  const key = await readFile(join(dir, 'var', 'secret.key'), 'utf8')
  assert.equal(Buffer.from(key.trim(), 'base64').length, 32)
})
