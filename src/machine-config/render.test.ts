import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parseDocument, stringify } from 'yaml'
import { isCodedError } from '../lib/errors.ts'
import { parseMachineConfig } from './parse.ts'
import { renderMachineConfig } from './render.ts'
import type { MachineConfig } from './schema.ts'

const EXAMPLE = readFileSync(new URL('../../docs/examples/machine.yaml', import.meta.url), 'utf8')

/** The same object with its keys in reverse order at every level (lists keep their order). */
function reversed (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]))
}

test('parse → render → parse gives the same config, and rendering is a fixed point', () => {
  const config = parseMachineConfig(EXAMPLE)
  const text = renderMachineConfig(config)
  assert.deepEqual(parseMachineConfig(text), config)
  assert.equal(renderMachineConfig(parseMachineConfig(text)), text)
})

test('the canonical text does not depend on how the document was written', () => {
  const a = renderMachineConfig(parseMachineConfig(EXAMPLE))
  // Keys in another order, another MAC spelling, IPv6 written long, sizes in other units.
  const other = stringify(reversed(parseDocument(EXAMPLE).toJS()))
    .replace('52:54:00:12:34:56', '52-54-00-12-34-56')
    .replace('2001:db8:77::21/64', '2001:0DB8:0077:0:0:0:0:21/64')
    .replace('400GiB', '0.390625TiB')
    .replace('2TB', '2000GB')
  assert.notEqual(other, EXAMPLE)
  assert.equal(renderMachineConfig(parseMachineConfig(other)), a)
})

test('the canonical text: schema key order, sorted sysctls, quoted strings, shortest exact sizes, no anchors, no empty lists', () => {
  const text = renderMachineConfig(parseMachineConfig(EXAMPLE))
  const doc = parseDocument(text)
  assert.deepEqual(doc.errors, [])
  assert.deepEqual(Object.keys(doc.toJS() as object), ['version', 'kind', 'hostname', 'install', 'network', 'services', 'certSANs', 'kernelArgs', 'sysctls'])
  assert.ok(text.startsWith('version: "v1alpha1"\nkind: "MachineConfig"\n'))
  assert.match(text, /\n {4}minSize: "400GiB"\n {4}maxSize: "2TB"\n/)
  assert.match(text, /\n {4}- mac: "52:54:00:12:34:56"\n/, 'a MAC is quoted (YAML 1.1 would read it as a base-60 number)')
  assert.match(text, /\nsysctls:\n {2}net\.core\.somaxconn: "4096"\n {2}net\.ipv4\.ip_forward: "1"\n {2}vm\.swappiness: "10"\n$/)
  assert.ok(!/[&*][a-z]+\d*\n/.test(text.replace(/"[^"]*"/g, '')), 'no anchors or aliases')
  assert.ok(!text.includes('[]') && !text.includes('{}'), 'empty lists and mappings are left out')
})

test('shared objects in a hand-built config render without anchors', () => {
  const config = parseMachineConfig(EXAMPLE)
  const routes = [{ to: '0.0.0.0/0', via: '10.77.0.1' }]
  const shared: MachineConfig = { ...config, network: { ...config.network, interfaces: [{ ...config.network.interfaces[0]!, routes }, { name: 'eth9', dhcp: false, addresses: ['10.77.0.99/24'], routes, vlans: [] }] } }
  const text = renderMachineConfig(shared)
  assert.ok(!text.includes('&a'), text)
  assert.equal(parseMachineConfig(text).network.interfaces[1]?.routes[0]?.via, '10.77.0.1')
})

test('a hand-built config that is not valid is refused, not rendered', () => {
  const config = parseMachineConfig(EXAMPLE)
  const bad = { ...config, hostname: 'not_valid' }
  assert.throws(() => renderMachineConfig(bad), (err: unknown) => isCodedError(err) && err.code === 'ERR_MACHINE_CONFIG_INVALID' && err.message.includes('hostname: not_valid is not a DNS name'))
})
