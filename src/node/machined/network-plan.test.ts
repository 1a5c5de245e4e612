import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseMachineConfig } from '../../machine-config/parse.ts'
import { parseNodeCmdline } from './cmdline.ts'
import { planNetwork, udhcpcArgv } from './network-plan.ts'

const links = [{ name: 'enp1s0', mac: '52:54:00:00:00:01' }, { name: 'enp2s0', mac: '52:54:00:00:00:02' }, { name: 'eno1', mac: '52:54:00:00:00:03' }]

function net (interfaces: string, extra = ''): ReturnType<typeof parseMachineConfig>['network'] {
  return parseMachineConfig(`version: v1alpha1\nkind: MachineConfig\nhostname: n1\ninstall:\n  disk:\n    serial: S1\nnetwork:\n  interfaces:\n${interfaces}${extra}`).network
}

test('DHCP by MAC, static IPv6 with a VLAN by name, routes after addresses, resolvers', () => {
  const plan = planNetwork(net('    - mac: "52:54:00:00:00:02"\n      dhcp: true\n    - name: "eno*"\n      mtu: 9000\n      addresses: ["2001:db8::5/64"]\n      routes: [{ to: "::/0", via: "2001:db8::1", metric: 10 }]\n      vlans:\n        - id: 100\n          addresses: ["10.100.0.5/24"]\n', '  nameservers: [10.0.0.53]\n  searchDomains: [lab.example]\n'), links)
  assert.deepEqual(plan.problems, [])
  assert.deepEqual(plan.links, ['enp2s0', 'eno1', 'eno1.100'])
  assert.deepEqual(plan.dhcp, ['enp2s0'])
  assert.deepEqual(plan.setup, [
    ['ip', 'link', 'set', 'dev', 'enp2s0', 'up'],
    ['ip', 'link', 'set', 'dev', 'eno1', 'mtu', '9000'],
    ['ip', 'link', 'set', 'dev', 'eno1', 'up'],
    ['ip', '-6', 'addr', 'add', '2001:db8::5/64', 'dev', 'eno1'],
    ['ip', 'link', 'add', 'link', 'eno1', 'name', 'eno1.100', 'type', 'vlan', 'id', '100'],
    ['ip', 'link', 'set', 'dev', 'eno1.100', 'up'],
    ['ip', '-4', 'addr', 'add', '10.100.0.5/24', 'dev', 'eno1.100']
  ])
  assert.deepEqual(plan.routes, [['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8::1', 'dev', 'eno1', 'metric', '10']])
  assert.equal(plan.resolvConf, 'search lab.example\nnameserver 10.0.0.53\n')
  assert.deepEqual(udhcpcArgv('enp2s0'), ['udhcpc', '-i', 'enp2s0', '-n', '-q', '-t', '10', '-T', '2', '-s', '/usr/lib/anvil/udhcpc.script'])
})

test('a selector that matches no NIC or several is a problem; the other interfaces are still planned', () => {
  const plan = planNetwork(net('    - name: "enp*"\n      dhcp: true\n    - mac: "52:54:00:00:00:09"\n      dhcp: true\n    - name: eno1\n      dhcp: true\n'), links)
  assert.deepEqual(plan.problems, [
    'network.interfaces[0]: 2 NICs match enp* (enp1s0, enp2s0): exactly one must',
    'network.interfaces[1]: no NIC has MAC 52:54:00:00:00:09'
  ])
  assert.deepEqual(plan.dhcp, ['eno1'])
  assert.equal(plan.resolvConf, undefined, 'DHCP\'s resolvers stand')
})

test('a pattern is matched as a glob, not as a regular expression', () => {
  const plan = planNetwork(net('    - name: "en.1"\n      dhcp: true\n'), [{ name: 'eno1', mac: '52:54:00:00:00:03' }])
  assert.equal(plan.problems.length, 1)
})

test('the command line: slot, try and halt; anything else ignored', () => {
  assert.deepEqual(parseNodeCmdline('anvil.slot=B anvil.try=1 anvil.halt=poweroff quiet\n'), { slot: 'B', try: true, halt: 'poweroff' })
  assert.deepEqual(parseNodeCmdline('anvil.slot=C anvil.halt=reboot'), { slot: undefined, try: false, halt: undefined })
})
