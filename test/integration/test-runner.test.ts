// test/run.sh and lab/setup.sh --check: run as root with packages missing, the integration and
// lab tiers install them first (so `npm test` on a fresh Debian machine skips nothing); with
// everything present, or unprivileged, or for the unit tier, the system is left alone. Each case
// runs a copy of the script in a scratch tree with stand-ins for `node`, `dpkg-query` and (for
// run.sh) lab/setup.sh, which record how they were called: nothing is installed for real.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO } from '../helpers/server-process.ts'
import { hasProgram } from '../helpers/requirements.ts'

const isRoot = process.getuid?.() === 0
/** argv prefix that runs a command as nobody when we are root (the unprivileged case). */
const asNobody = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []
const noSetpriv = isRoot && !hasProgram('setpriv') ? 'needs setpriv (util-linux)' : undefined

/** A scratch tree everyone can read and write (the unprivileged cases run as nobody). */
function scratch (): string {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-runner-'))
  chmodSync(dir, 0o777)
  return dir
}

function script (file: string, text: string): void {
  writeFileSync(file, text)
  chmodSync(file, 0o755)
}

describe('test/run.sh', () => {
  const dir = scratch()
  const log = join(dir, 'calls.log')
  const run = (args: string[], env: Record<string, string> = {}, wrapper: string[] = []): { status: number | null, calls: string[], out: string } => {
    writeFileSync(log, '')
    chmodSync(log, 0o666)
    const argv = [...wrapper, 'env', `PATH=${join(dir, 'bin')}:${process.env.PATH ?? ''}`, `CALLS=${log}`, 'CI=', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'bash', join(dir, 'test', 'run.sh'), ...args]
    const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 30_000 })
    return { status: r.status, calls: readFileSync(log, 'utf8').trim().split('\n').filter(l => l !== ''), out: r.stdout + r.stderr }
  }

  before(() => {
    for (const d of ['test/integration', 'lab', 'src/x', 'bin']) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 })
    copyFileSync(join(REPO, 'test/run.sh'), join(dir, 'test/run.sh'))
    writeFileSync(join(dir, 'test/integration/a.test.ts'), '')
    writeFileSync(join(dir, 'src/x/u.test.ts'), '')
    // lab/setup.sh: --check answers SETUP_CHECK (1: something is missing); a setup answers SETUP_RC.
    // eslint-disable-next-line no-template-curly-in-string -- shell parameter expansions, not a template
    script(join(dir, 'lab/setup.sh'), '#!/bin/sh\nif [ "$1" = --check ]; then echo "setup --check" >> "$CALLS"; exit "${SETUP_CHECK:-1}"; fi\necho setup >> "$CALLS"\nexit "${SETUP_RC:-0}"\n')
    script(join(dir, 'bin/node'), '#!/bin/sh\necho "node $*" >> "$CALLS"\n')
  })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  const tests = 'node --import tsx --test --test-reporter=spec --test-concurrency=1 test/integration/a.test.ts'

  test('as root with packages missing, the integration tier runs lab/setup.sh before the tests', { skip: isRoot ? undefined : 'needs root' }, () => {
    const r = run(['integration'])
    assert.equal(r.status, 0, r.out)
    assert.deepEqual(r.calls, ['setup --check', 'setup', tests])
    const all = run(['all'])
    assert.deepEqual(all.calls.slice(0, 2), ['setup --check', 'setup'], 'npm test (all) too')
  })

  test('as root with everything present, only the check runs; the unit tier and ANVIL_TEST_SETUP=0 do not even check', { skip: isRoot ? undefined : 'needs root' }, () => {
    assert.deepEqual(run(['integration'], { SETUP_CHECK: '0' }).calls, ['setup --check', tests])
    assert.deepEqual(run(['unit']).calls, ['node --import tsx --test --test-reporter=spec --test-concurrency=1 src/x/u.test.ts'])
    assert.deepEqual(run(['lab'], { ANVIL_TEST_SETUP: '0' }).calls.filter(c => c.startsWith('setup')), [])
  })

  test('as root, a failed setup lets the tests say what is missing, except under CI=true, where it fails', { skip: isRoot ? undefined : 'needs root' }, () => {
    const r = run(['integration'], { SETUP_RC: '1' })
    assert.equal(r.status, 0)
    assert.deepEqual(r.calls, ['setup --check', 'setup', tests])
    assert.match(r.out, /lab\/setup\.sh failed/)
    const ci = run(['integration'], { SETUP_RC: '1', CI: 'true' })
    assert.notEqual(ci.status, 0)
    assert.deepEqual(ci.calls, ['setup --check', 'setup'], 'no tests after a failed setup in CI')
  })

  test('unprivileged, nothing is installed: the tests run and skip with their reasons', { skip: noSetpriv }, () => {
    const r = run(['integration'], {}, asNobody)
    assert.equal(r.status, 0, r.out)
    assert.deepEqual(r.calls, [tests])
  })
})

describe('lab/setup.sh --check', { skip: noSetpriv }, () => {
  const dir = scratch()
  // Run as nobody: --check must need no root, and nothing else of the script may run.
  const check = (missing: string): { status: number | null, out: string } => {
    const argv = [...asNobody, 'env', `PATH=${join(dir, 'bin')}:${process.env.PATH ?? ''}`, `MISSING=${missing}`, 'bash', join(dir, 'lab', 'setup.sh'), '--check']
    const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 30_000 })
    return { status: r.status, out: r.stdout + r.stderr }
  }
  before(() => {
    for (const d of ['lab', 'bin']) mkdirSync(join(dir, d), { mode: 0o755 })
    copyFileSync(join(REPO, 'lab/setup.sh'), join(dir, 'lab/setup.sh'))
    // dpkg-query -W -f='${db:Status-Status}' PKG: "installed", except for the packages in $MISSING.
    script(join(dir, 'bin/dpkg-query'), '#!/bin/sh\nfor p in $MISSING; do [ "$3" = "$p" ] && exit 1; done\nprintf installed\n')
  })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  test('exits 0 when every package is installed, 1 naming the missing ones otherwise', () => {
    const ok = check('')
    assert.equal(ok.status, 0, ok.out)
    const missing = check('qemu-utils ovmf')
    assert.equal(missing.status, 1)
    assert.match(missing.out, /missing qemu-utils ovmf/)
  })
})
