// Lab tier: the interactive lab as a user runs it. `npm run lab` (lab/lab.ts) brings
// up a BIOS VM, the VM shows up in its inventory lines, the printed `anvil machines list` line works
// against it, and SIGINT (Ctrl-C) tears everything down: no namespace, host link or process left.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { listNamespaces, testNamespaceName } from '../../lab/netns.ts'
import { run, settlesWithin, tryRun, waitFor } from '../../lab/proc.ts'
import { vmIdentity } from '../../lab/qemu.ts'
import type { LabState } from '../../lab/start-lab.ts'
import { labSkipReason } from '../helpers/lab-env.ts'

const skip = labSkipReason()
if (skip !== undefined) console.log(`# skipping the lab CLI test: ${skip}`)

function pidExists (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('npm run lab boots a VM, works with the anvil CLI, and Ctrl-C leaves nothing behind', { skip, timeout: 240_000 }, async (t) => {
  const ns = testNamespaceName()
  const runDir = mkdtempSync(join(tmpdir(), `${ns}-`))
  // Through npm as a user runs it: npm → sh → tsx → node, where Ctrl-C arrives more than once.
  const child = spawn('npm', ['run', '-s', 'lab', '--', '--ns', ns, '--run-dir', runDir, '--vms', '1', '--firmware', 'bios', '--boot'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  // Ctrl-C at a terminal signals the whole foreground process group; do the same.
  const ctrlC = (): void => { if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT') }
  // 'close': every process holding our pipes (npm, tsx, the lab itself) is gone, not just npm,
  // which exits by re-raising SIGINT while the lab below it is still tearing down.
  const exited = new Promise<void>(resolve => child.once('close', () => resolve()))
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  let passed = false
  t.after(async () => {
    // Only if the test failed midway: stop the lab the way a user would, then check nothing is left.
    if (!await settlesWithin(exited, 0)) {
      ctrlC()
      await settlesWithin(exited, 60_000)
    }
    if (!passed) console.log(`# lab output:\n${output}`)
    for (const n of (await listNamespaces()).filter(n => n === ns || n.startsWith(`${ns}-`))) await tryRun(['ip', 'netns', 'del', n])
    rmSync(runDir, { recursive: true, force: true })
  })

  const vm = vmIdentity(1, 'bios')
  const giveUp = (): string | undefined => child.exitCode !== null || child.signalCode !== null ? `lab exited early:\n${output}` : undefined
  await waitFor('the VM in the lab\'s inventory lines', 150_000, () => {
    const line = output.split('\n').find(l => l.startsWith('inventory:') && l.includes(vm.mac) && l.includes(vm.serial))
    return line
  }, { giveUp, intervalMs: 1_000 })

  // The hint line the lab printed is what a user pastes; run the same command with the same env.
  const hint = output.split('\n').find(l => l.includes('ANVIL_ENDPOINT='))
  assert.ok(hint !== undefined, 'the lab prints the CLI line')
  const env = Object.fromEntries([...hint.matchAll(/(ANVIL_\w+)=(\S+)/g)].map(m => [m[1], m[2]]))
  const list = await new Promise<string>((resolve, reject) => {
    const cli = spawn(join(REPO_ROOT, 'bin/anvil'), ['machines', 'list', '-o', 'json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    cli.stdout.on('data', (c: Buffer) => { out += c.toString() })
    cli.stderr.on('data', (c: Buffer) => { err += c.toString() })
    cli.once('exit', code => code === 0 ? resolve(out) : reject(new Error(`anvil machines list exited ${String(code)}: ${err}`)))
  })
  assert.match(list, new RegExp(vm.uuid), 'anvil machines list shows the VM\'s UUID')
  assert.match(list, new RegExp(vm.serial), 'anvil machines list shows the VM\'s serial')

  const state = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')) as LabState
  assert.ok(state.pids.length >= 3, 'the lab recorded its processes (dnsmasq, site DHCP, anvil, QEMU)')
  ctrlC()
  assert.ok(await settlesWithin(exited, 60_000), 'the lab exits within 60 s of Ctrl-C')
  assert.match(output, /torn down: no lab namespace, tap, link or process left/, 'the lab says it left nothing')
  assert.doesNotMatch(output, /^lab: /m, 'the lab reported no error')
  assert.deepEqual((await listNamespaces()).filter(n => n === ns || n.startsWith(`${ns}-`)), [], 'no namespace left')
  assert.equal(await tryRun(['ip', 'link', 'show', state.hostIf]), false, 'no host link left')
  assert.deepEqual(state.pids.filter(pidExists), [], 'no process left')
  assert.equal((await run(['ip', '-o', 'link', 'show'])).includes(state.hostIf), false)
  passed = true
})
