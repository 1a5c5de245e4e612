// ApplyConfig's pure parts: the changes by key path (never a value), the mode decision table, and
// the live network steps in the order that keeps the node reachable.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseMachineConfig } from '../../machine-config/parse.ts'
import { configChanges, decideApply, parseApplyMode, rebootReason } from './config-changes.ts'
import { liveNetworkSteps } from './live-network.ts'
import { planNetwork } from './network-plan.ts'

const MAC = '52:54:00:12:34:56'
function config (o: { hostname?: string, addresses?: string[], gateway?: string, serial?: string, extra?: string, vlan?: boolean } = {}) {
  return parseMachineConfig(`version: v1alpha1
kind: MachineConfig
hostname: ${o.hostname ?? 'node-1'}
install:
  disk:
    serial: ${o.serial ?? 'DISK1'}
network:
  interfaces:
    - mac: "${MAC}"
      addresses: [${(o.addresses ?? ['10.0.0.5/24']).join(', ')}]
      routes:
        - to: 0.0.0.0/0
          via: ${o.gateway ?? '10.0.0.1'}
${o.vlan === true ? '      vlans:\n        - id: 42\n          addresses: [10.42.0.5/24]\n' : ''}${o.extra ?? ''}`)
}

test('changes: key paths of what differs, sorted; lists of scalars as a whole, lists of objects by index', () => {
  assert.deepEqual(configChanges(config(), config()), [])
  assert.deepEqual(configChanges(config(), config({ hostname: 'node-2', addresses: ['10.0.0.6/24'] })), ['hostname', 'network.interfaces[0].addresses'])
  assert.deepEqual(configChanges(config(), config({ gateway: '10.0.0.254' })), ['network.interfaces[0].routes[0].via'])
  assert.deepEqual(configChanges(config(), config({ vlan: true })), ['network.interfaces[0].vlans[0]'])
  assert.deepEqual(configChanges(config(), config({ serial: 'DISK2' })), ['install.disk.serial'])
  assert.deepEqual(configChanges(config(), config({ extra: 'sysctls:\n  net.ipv4.ip_forward: "1"\n' })), ['sysctls["net.ipv4.ip_forward"]'])
})

test('changes never carry a value', () => {
  const secret = 's3cr3t-token-value'
  const changes = configChanges(config(), config({ extra: `kernelArgs: ["token=${secret}"]\nsysctls:\n  kernel.domainname: "${secret}"\n` }))
  assert.deepEqual(changes, ['kernelArgs', 'sysctls["kernel.domainname"]'])
  assert.ok(!JSON.stringify(changes).includes(secret))
})

test('mode: "" is auto; anything unknown is ERR_VALIDATION', () => {
  assert.equal(parseApplyMode(''), 'auto')
  assert.equal(parseApplyMode('try'), 'try')
  assert.throws(() => parseApplyMode('staged'), { code: 'ERR_VALIDATION' })
})

test('what needs a reboot: the install disk, kernel args, apid/trustd, cert names; the rest is live', () => {
  for (const p of ['install.disk.serial', 'kernelArgs', 'services.apid.port', 'services.trustd.trustAnchor', 'certSANs']) assert.ok(rebootReason(p) !== undefined, p)
  for (const p of ['hostname', 'network.interfaces[0].addresses', 'network.nameservers', 'services.ntp.servers', 'sysctls["net.ipv4.ip_forward"]', 'installer']) assert.equal(rebootReason(p), undefined, p)
})

test('the decision table: live, reboot, or refused naming the key path', () => {
  const live = ['hostname']
  const disk = ['hostname', 'install.disk.serial']
  assert.deepEqual(decideApply('auto', live), { appliedAs: 'live', needReboot: [] })
  assert.deepEqual(decideApply('auto', disk), { appliedAs: 'reboot', needReboot: ['install.disk.serial'] })
  assert.deepEqual(decideApply('no-reboot', live), { appliedAs: 'live', needReboot: [] })
  assert.deepEqual(decideApply('try', live), { appliedAs: 'live', needReboot: [] })
  assert.deepEqual(decideApply('reboot', live), { appliedAs: 'reboot', needReboot: [] })
  assert.deepEqual(decideApply('reboot', []), { appliedAs: 'reboot', needReboot: [] })
  assert.deepEqual(decideApply('auto', []), { appliedAs: 'live', needReboot: [] })
  for (const mode of ['no-reboot', 'try'] as const) {
    assert.throws(() => decideApply(mode, disk), (err: Error & { code?: string, details?: { field?: string } }) =>
      err.code === 'ERR_VALIDATION' && err.details?.field === 'install.disk.serial' && err.message.includes('install.disk.serial') && !err.message.includes('hostname'))
  }
})

test('live network: new address and route before the old ones go; the default route replaced, not deleted', () => {
  const links = [{ name: 'eth0', mac: MAC }]
  const before = planNetwork(config().network, links)
  const after = planNetwork(config({ addresses: ['10.0.1.5/24'], gateway: '10.0.1.1' }).network, links)
  const s = liveNetworkSteps(before, after)
  assert.deepEqual(s.add, [['ip', 'link', 'set', 'dev', 'eth0', 'up'], ['ip', '-4', 'addr', 'add', '10.0.1.5/24', 'dev', 'eth0']])
  assert.deepEqual(s.dhcp, [])
  assert.deepEqual(s.settle, [['ip', '-4', 'route', 'replace', 'default', 'via', '10.0.1.1', 'dev', 'eth0'], ['ip', '-4', 'addr', 'del', '10.0.0.5/24', 'dev', 'eth0']])
})

test('live network: a VLAN added first and removed last; unchanged addresses untouched', () => {
  const links = [{ name: 'eth0', mac: MAC }]
  const plain = planNetwork(config().network, links)
  const tagged = planNetwork(config({ vlan: true }).network, links)
  const up = liveNetworkSteps(plain, tagged)
  assert.deepEqual(up.add[0], ['ip', 'link', 'add', 'link', 'eth0', 'name', 'eth0.42', 'type', 'vlan', 'id', '42'])
  assert.deepEqual(up.add.filter(a => a.includes('addr')), [['ip', '-4', 'addr', 'add', '10.42.0.5/24', 'dev', 'eth0.42']])
  assert.deepEqual(up.settle, [])
  const down = liveNetworkSteps(tagged, plain)
  assert.deepEqual(down.settle, [['ip', '-4', 'addr', 'del', '10.42.0.5/24', 'dev', 'eth0.42'], ['ip', 'link', 'del', 'dev', 'eth0.42']])
  assert.deepEqual(liveNetworkSteps(plain, plain).settle, [])
})
