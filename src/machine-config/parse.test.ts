import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { stringify } from 'yaml'
import { isCodedError } from '../lib/errors.ts'
import type { MachineConfigIssue } from './issues.ts'
import { MAX_ALIASES, MAX_DOCUMENT_BYTES, parseMachineConfig } from './parse.ts'

/** A small valid config; each rule below changes one thing in a copy. */
const BASE = {
  version: 'v1alpha1',
  kind: 'MachineConfig',
  hostname: 'node-01',
  install: { disk: { serial: 'S4EWNX0N123456' } },
  network: { interfaces: [{ mac: '52:54:00:00:00:01', addresses: ['10.0.0.5/24'], routes: [{ to: '0.0.0.0/0', via: '10.0.0.1' }] }] }
}
type Doc = Record<string, any>

function variant (change: (d: Doc) => void): string {
  const d = structuredClone(BASE) as Doc
  change(d)
  return stringify(d)
}

/** The issues a document is refused with (it must be refused with ERR_MACHINE_CONFIG_INVALID). */
function issuesOf (text: string): MachineConfigIssue[] {
  try {
    parseMachineConfig(text)
  } catch (err) {
    assert.ok(isCodedError(err) && err.code === 'ERR_MACHINE_CONFIG_INVALID', `refused with ERR_MACHINE_CONFIG_INVALID, got ${String(err)}`)
    const issues = err.details?.issues as MachineConfigIssue[]
    for (const i of issues) assert.ok(err.message.includes(`  ${i.path}: ${i.message}`), 'the message lists every issue')
    return issues
  }
  return assert.fail('the document was accepted')
}

const pairs = (issues: readonly MachineConfigIssue[]): [string, string][] => issues.map(i => [i.path, i.message])

test('the documented example (docs/examples/machine.yaml) is valid and normalized', () => {
  const c = parseMachineConfig(readFileSync(new URL('../../docs/examples/machine.yaml', import.meta.url), 'utf8'))
  assert.equal(c.hostname, 'node-01.rack1.lab.example')
  assert.deepEqual(c.install.disk, { model: 'Samsung SSD 980*', minSize: 400 * 1024 ** 3, maxSize: 2e12, transport: 'nvme' })
  assert.equal(c.network.interfaces.length, 2)
  assert.deepEqual(c.network.interfaces[1]?.vlans.map(v => v.id), [100, 200])
  assert.deepEqual(c.services, { apid: { port: 50000 }, trustd: { port: 50001, trustAnchor: false }, ntp: { enabled: true, servers: ['ntp1.lab.example', '10.77.0.1'] } })
  assert.deepEqual(Object.keys(c.sysctls), ['net.core.somaxconn', 'net.ipv4.ip_forward', 'vm.swappiness'], 'sysctls sorted')
})

test('defaults and canonical forms', () => {
  const c = parseMachineConfig(variant(d => {
    d.hostname = 'Node-01.Lab.Example'
    d.network.interfaces[0].mac = '52-54-00-AA-BB-CC'
    d.network.interfaces[0].addresses = ['2001:DB8:0:0::5/64', '10.0.0.5/24']
    d.network.interfaces[0].routes = [{ to: '::/0', via: '2001:db8::1' }]
  }))
  assert.equal(c.hostname, 'node-01.lab.example')
  const iface = c.network.interfaces[0] ?? assert.fail()
  assert.equal(iface.mac, '52:54:00:aa:bb:cc')
  assert.deepEqual(iface.addresses, ['2001:db8::5/64', '10.0.0.5/24'])
  assert.equal(iface.dhcp, false)
  assert.deepEqual(iface.vlans, [])
  assert.deepEqual(c.services, { apid: { port: 50000 }, trustd: { port: 50001, trustAnchor: false } })
  assert.deepEqual([c.kernelArgs, c.sysctls, c.certSANs, c.network.nameservers], [[], {}, [], []])
})

// Each rule: what changes, and the exact issues (path, message) it is refused with.
const RULES: [string, (d: Doc) => void, [string, string][]][] = [
  ['an address without a prefix', d => { d.network.interfaces[0].addresses = ['10.0.0.5/24', '10.0.0.6'] }, [
    ['network.interfaces[0].addresses[1]', '10.0.0.6 is not a CIDR (10.0.0.6/24)']]],
  ['garbage as an address', d => { d.network.interfaces[0].addresses = ['ten/24'] }, [
    ['network.interfaces[0].addresses[0]', 'ten/24 is not a CIDR (address/prefix, e.g. 10.0.0.5/24 or 2001:db8::5/64)']]],
  ['a gateway on a link with no address of its family', d => { d.network.interfaces[0].routes[0] = { to: '::/0', via: '2001:db8::1' } }, [
    ['network.interfaces[0].routes[0].via', '2001:db8::1 is outside every subnet of this interface (it has no IPv6 address): a gateway must be reachable on the link']]],
  ['the network and broadcast addresses', d => { d.network.interfaces[0].addresses = ['10.0.0.0/24', '10.0.0.255/24'] }, [
    ['network.interfaces[0].addresses[0]', '10.0.0.0/24 is the network address of 10.0.0.0/24; use a host address'],
    ['network.interfaces[0].addresses[1]', '10.0.0.255/24 is the broadcast address of 10.0.0.0/24; use a host address']]],
  ['an unknown key at the top', d => { d.hostnmae = 'x' }, [
    ['hostnmae', 'unknown key (expected version, kind, hostname, install, network, services, certSANs, kernelArgs, sysctls)']]],
  ['an unknown key in an interface', d => { d.network.interfaces[0].gateway = '10.0.0.1' }, [
    ['network.interfaces[0].gateway', 'unknown key (expected mac, name, dhcp, addresses, routes, mtu, vlans)']]],
  ['the same MAC twice, spelt two ways', d => { d.network.interfaces.push({ mac: '52-54-00-00-00-01', dhcp: true }) }, [
    ['network.interfaces[1].mac', '52:54:00:00:00:01 is already at network.interfaces[0].mac']]],
  ['the same name pattern twice', d => { d.network.interfaces.push({ name: 'enp*', dhcp: true }, { name: 'enp*', dhcp: true }) }, [
    ['network.interfaces[2].name', 'enp* is already at network.interfaces[1].name']]],
  ['the same address on two links', d => { d.network.interfaces.push({ name: 'eth1', addresses: ['10.0.0.5/16'] }) }, [
    ['network.interfaces[1].addresses[0]', 'address 10.0.0.5 is already at network.interfaces[0].addresses[0]']]],
  ['a static interface without addresses', d => { d.network.interfaces[0] = { mac: '52:54:00:00:00:01' } }, [
    ['network.interfaces[0].addresses', 'a static interface (dhcp: false) needs at least one address, e.g. 10.0.0.5/24; or set dhcp: true']]],
  ['DHCP and static addresses together', d => { d.network.interfaces[0].dhcp = true; delete d.network.interfaces[0].routes }, [
    ['network.interfaces[0].addresses', 'dhcp: true takes the addresses from DHCP; remove addresses, or set dhcp: false for a static interface']]],
  ['neither mac nor name', d => { delete d.network.interfaces[0].mac }, [
    ['network.interfaces[0]', 'select the interface by mac (its MAC address) or by name (a kernel name pattern such as enp*)']]],
  ['both mac and name', d => { d.network.interfaces[0].name = 'eth0' }, [
    ['network.interfaces[0].name', 'select the interface by mac or by name, not both']]],
  ['a name pattern matching everything', d => { d.network.interfaces[0] = { name: '*', dhcp: true } }, [
    ['network.interfaces[0].name', '* matches any interface; name a pattern such as enp* or select by mac']]],
  ['a name too long for the kernel', d => { d.network.interfaces[0] = { name: 'enp0s20f0u1u2c3x', dhcp: true } }, [
    ['network.interfaces[0].name', 'enp0s20f0u1u2c3x is not an interface name pattern: 1-15 of letters, digits, _ . @ + -, with * for any run']]],
  ['a multicast MAC', d => { d.network.interfaces[0].mac = '01:00:5e:00:00:01' }, [
    ['network.interfaces[0].mac', "01:00:5e:00:00:01 is a multicast address; a NIC's own address is unicast"]]],
  ['a gateway outside the subnet', d => { d.network.interfaces[0].routes[0].via = '10.0.1.1' }, [
    ['network.interfaces[0].routes[0].via', '10.0.1.1 is outside every subnet of this interface (10.0.0.0/24): a gateway must be reachable on the link']]],
  ['a gateway on a DHCP interface', d => { d.network.interfaces[0] = { mac: '52:54:00:00:00:01', dhcp: true, routes: [{ to: '10.9.0.0/16', via: '10.0.0.1' }] } }, [
    ['network.interfaces[0].routes[0].via', "10.0.0.1 cannot be checked against a DHCP interface's subnet, which is known only at run time; route via a gateway on a static interface, or omit via for an on-link route"]]],
  ['the interface itself as gateway', d => { d.network.interfaces[0].routes[0].via = '10.0.0.5' }, [
    ['network.interfaces[0].routes[0].via', "10.0.0.5 is this interface's own address; the gateway is another host on its subnet"]]],
  ['a gateway of another family', d => { d.network.interfaces[0].routes[0].via = '2001:db8::1' }, [
    ['network.interfaces[0].routes[0].via', '2001:db8::1 is IPv6 but the destination 0.0.0.0/0 is IPv4']]],
  ['a destination with host bits', d => { d.network.interfaces[0].routes.push({ to: '10.1.2.3/16', via: '10.0.0.1' }) }, [
    ['network.interfaces[0].routes[1].to', '10.1.2.3/16 has host bits set: the network is 10.1.0.0/16']]],
  ['the same route twice', d => { d.network.interfaces[0].routes.push({ to: '0.0.0.0/0', via: '10.0.0.2' }) }, [
    ['network.interfaces[0].routes[1]', 'duplicate route to 0.0.0.0/0: routes[0] has it']]],
  ['IPv6 on a small MTU', d => { d.network.interfaces[0].addresses.push('2001:db8::5/64'); d.network.interfaces[0].mtu = 1200 }, [
    ['network.interfaces[0].mtu', '1200 is below 1280, the minimum MTU of a link with IPv6 addresses (RFC 8200 §5)']]],
  ['an MTU out of range', d => { d.network.interfaces[0].mtu = 70000 }, [
    ['network.interfaces[0].mtu', 'at most 65535']]],
  ['VLANs: a repeated id, an MTU above the parent, a trunk needs no address of its own', d => {
    d.network.interfaces[0] = { mac: '52:54:00:00:00:01', mtu: 1500, vlans: [{ id: 10, dhcp: true }, { id: 10, dhcp: true, mtu: 9000 }, { id: 4095, dhcp: true }] }
  }, [
    ['network.interfaces[0].vlans[2].id', 'at most 4094'],
    ['network.interfaces[0].vlans[1].id', 'VLAN 10 is already vlans[0]'],
    ['network.interfaces[0].vlans[1].mtu', "9000 is larger than the parent interface's mtu 1500"]]],
  ['a nameserver that is not an address', d => { d.network.nameservers = ['10.0.0.1', 'dns.example'] }, [
    ['network.nameservers[1]', 'dns.example is not an IP address']]],
  // A list over its length is reported alone: zod checks the length before the items.
  ['too many nameservers', d => { d.network.nameservers = ['10.0.0.1', '10.0.0.2', 'dns.example', '10.0.0.4'] }, [
    ['network.nameservers', 'at most 3 items']]],
  ['repeated nameservers and a bad search domain', d => { d.network.nameservers = ['2001:db8::1', '2001:DB8::01']; d.network.searchDomains = ['lab_example.com'] }, [
    ['network.searchDomains[0]', 'lab_example.com is not a DNS name: labels of letters, digits and hyphens (not first or last), separated by dots (RFC 1123)'],
    ['network.nameservers[1]', '2001:db8::1 is already at network.nameservers[0]']]],
  ['no interfaces', d => { d.network.interfaces = [] }, [['network.interfaces', 'at least 1 item']]],
  ['a host name with an underscore', d => { d.hostname = 'node_01' }, [
    ['hostname', 'node_01 is not a DNS name: labels of letters, digits and hyphens (not first or last), separated by dots (RFC 1123)']]],
  ['a host name starting with a hyphen', d => { d.hostname = '-node' }, [
    ['hostname', '-node is not a DNS name: labels of letters, digits and hyphens (not first or last), separated by dots (RFC 1123)']]],
  ['a host name label over 63', d => { d.hostname = `${'a'.repeat(64)}.example` }, [
    ['hostname', `"${'a'.repeat(64)}…" has a label longer than 63 characters (RFC 1123)`]]],
  ['a host name over the kernel limit', d => { d.hostname = `${'a'.repeat(40)}.${'b'.repeat(40)}` }, [
    ['hostname', 'is 81 characters long; the kernel keeps at most 64 (HOST_NAME_MAX)']]],
  ['a host name that is an address', d => { d.hostname = '10.0.0.5' }, [['hostname', '10.0.0.5 looks like an IP address but is not one']]],
  ['a missing host name, version and kind', d => { delete d.hostname; delete d.version; delete d.kind }, [
    ['version', 'required: version: v1alpha1'], ['kind', 'required: kind: MachineConfig'], ['hostname', 'required']]],
  ['another version and kind', d => { d.version = 'v1'; d.kind = 'ServerConfig' }, [
    ['version', 'unsupported version v1: this Anvil reads v1alpha1'], ['kind', "ServerConfig is not this document's kind: expected MachineConfig"]]],
  ['a size without a known unit', d => { d.install.disk = { minSize: '100G' } }, [
    ['install.disk.minSize', '"100G" is not a size; use a number and a unit, e.g. 100GiB or 1.5TB (KiB, MiB, GiB, TiB are powers of 1024; KB, MB, GB, TB of 1000)']]],
  ['a size range upside down', d => { d.install.disk = { minSize: '2TB', maxSize: '1TiB' } }, [
    ['install.disk.maxSize', '1TiB is smaller than minSize 2TB']]],
  ['an empty disk selector', d => { d.install.disk = {} }, [
    ['install.disk', 'select the disk by at least one of serial, wwn, model, minSize, maxSize, transport, rotational']]],
  ['an unknown transport', d => { d.install.disk = { transport: 'ide' } }, [
    ['install.disk.transport', 'expected one of nvme, sata, sas, scsi, virtio, mmc, usb']]],
  ['a disk key that names a device', d => { d.install.disk = { device: 'sda', serial: 'X' } }, [
    ['install.disk.device', 'unknown key; a disk is selected by serial, wwn, model, minSize, maxSize, transport, rotational, never by a device name']]],
  ['no install section', d => { delete d.install }, [['install', 'required']]],
  ['apid disabled, an unknown service, two daemons on one port', d => { d.services = { apid: { enabled: false }, trustd: { port: 50000 }, kubelet: {} } }, [
    ['services.apid.enabled', 'apid cannot be disabled: the node is managed through it'],
    ['services.kubelet', 'unknown service: the node daemons know apid, trustd and ntp'],
    ['services.trustd.port', "50000 is apid's port too"]]],
  ['ntp without servers, and a bad server', d => { d.services = { ntp: {} } }, [
    ['services.ntp.servers', 'ntp needs at least one server, e.g. [pool.ntp.org]; or set enabled: false']]],
  ['an NTP server that is no host', d => { d.services = { ntp: { servers: ['ntp..example', 'pool.ntp.org', 'POOL.ntp.org'] } } }, [
    ['services.ntp.servers[0]', 'ntp..example is neither an IP address nor a host name: it is not a DNS name: labels of letters, digits and hyphens (not first or last), separated by dots (RFC 1123)'],
    ['services.ntp.servers[2]', 'server pool.ntp.org is already [1]']]],
  ['a port out of range', d => { d.services = { apid: { port: 0 } } }, [['services.apid.port', 'at least 1']]],
  ['certificate names: a wildcard is fine, an underscore is not', d => { d.certSANs = ['*.lab.example', 'a_b.example', '10.0.0.5', '10.0.0.5'] }, [
    ['certSANs[1]', 'a_b.example is neither an IP address nor a host name: it is not a DNS name: labels of letters, digits and hyphens (not first or last), separated by dots (RFC 1123)'],
    ['certSANs[3]', 'name 10.0.0.5 is already [2]']]],
  ['kernel args with a space, empty, quoted', d => { d.kernelArgs = ['console=ttyS0', 'quiet splash', '', 'a="b"'] }, [
    ['kernelArgs[1]', 'contains whitespace: give one argument per list item (a value with spaces cannot be passed)'],
    ['kernelArgs[2]', 'is empty'],
    ['kernelArgs[3]', 'contains a double quote, which the kernel treats as quoting']]],
  ['too many kernel args', d => { d.kernelArgs = Array.from({ length: 65 }, (_, i) => `a${i}`) }, [['kernelArgs', 'at most 64 items']]],
  ['kernel args too long together', d => { d.kernelArgs = Array.from({ length: 5 }, () => 'x'.repeat(250)) }, [
    ['kernelArgs', 'take 1254 characters; at most 1024 (x86 kernels read 2048 and the installer adds its own)']]],
  ['sysctls: a number, a bad key, a key outside /proc/sys', d => { d.sysctls = { 'net.ipv4.ip_forward': 1, 'net ipv4': '1', 'foo.bar': '1', 'net.ipv4.conf.eth0/100.forwarding': '1' } }, [
    ['sysctls["net.ipv4.ip_forward"]', 'expected a string: quote the value, e.g. "1" (sysctl values are written as text)'],
    ['sysctls["net ipv4"]', '"net ipv4" is not a sysctl key: dotted names such as net.ipv4.ip_forward (sysctl(8) notation)'],
    ['sysctls["foo.bar"]', 'foo.bar is not under a /proc/sys directory (abi, crypto, debug, dev, fs, kernel, net, sunrpc, user, vm)']]],
  ['a sysctl key climbing out of /proc/sys', d => { d.sysctls = { 'net.ipv4/../../x': '1' } }, [
    ['sysctls["net.ipv4/../../x"]', 'net.ipv4/../../x is not a sysctl key: dotted names such as net.ipv4.ip_forward (sysctl(8) notation)']]],
  ['YAML 1.1 booleans are strings here', d => { d.network.interfaces[0] = { mac: '52:54:00:00:00:01', dhcp: 'yes' } }, [
    ['network.interfaces[0].dhcp', 'expected true or false, got a string'],
    ['network.interfaces[0].addresses', 'a static interface (dhcp: false) needs at least one address, e.g. 10.0.0.5/24; or set dhcp: true']]],
  ['a list where a mapping belongs', d => { d.network = [] }, [['network', 'expected a mapping, got a list']]]
]

for (const [name, change, expected] of RULES) {
  test(`refused: ${name}`, () => {
    assert.deepEqual(pairs(issuesOf(variant(change))), expected)
  })
}

test('every issue is reported at once, each with the line it is on', () => {
  const text = [
    'version: v1alpha1',
    'kind: MachineConfig',
    'hostname: node_01',
    'install:',
    '  disk: { serial: S1 }',
    'network:',
    '  interfaces:',
    '    - mac: "52:54:00:00:00:01"',
    '      addresses: [10.0.0.5]',
    'kernelArgs: ["a b"]',
    ''
  ].join('\n')
  const issues = issuesOf(text)
  assert.deepEqual(issues.map(i => [i.path, i.line]), [['hostname', 3], ['network.interfaces[0].addresses[0]', 9], ['kernelArgs[0]', 10]])
})

test('/dev names are refused wherever a disk is named, saying why and what to use instead', () => {
  for (const disk of ['/dev/sda', '/dev/disk/by-id/nvme-Samsung_SSD_980_S5GX', { serial: '/dev/nvme0n1' }, { model: '/dev/sd*' }, { device: '/dev/sdb', transport: 'sata' }]) {
    const issues = issuesOf(variant(d => { d.install.disk = disk }))
    assert.equal(issues.length, 1, JSON.stringify(issues))
    const [issue] = issues
    assert.equal(issue?.path, typeof disk === 'string' ? 'install.disk' : `install.disk.${Object.keys(disk)[0] as string}`)
    assert.match(issue?.message ?? '', /^(unknown key, and )?\/dev\/\S+ is refused: a \/dev name is whatever the kernel probed first on one boot/)
    assert.match(issue?.message ?? '', /Select the disk by serial, wwn, model, minSize\/maxSize or transport/)
  }
})

test('secrets: the section is refused, and no secret value reaches any message', () => {
  const secret = 'hunter2-SECRET-VALUE'
  const docs = [
    variant(d => { d.secrets = { token: secret } }),
    variant(d => { d.token = secret }),
    variant(d => { d.network.interfaces[0].password = secret }),
    variant(d => { d.kernelArgs = [`root=x password=${secret} quiet`, `${secret}\u0007`, `a="${secret}"`] }),
    variant(d => { d.sysctls = { 'kernel.x': `${secret}\n`, 'not a key': secret, 'net.y': ['x'] } }),
    variant(d => { d.install.disk = { serial: 'X', secret } }),
    `version: v1alpha1\ntoken: "${secret}\\q"\n`, // an invalid escape
    `version: v1alpha1\ntoken: ${secret}: x\n`, // a nested compact mapping
    `version: v1alpha1\ntoken: !secret ${secret}\n`, // an unknown tag
    `version: v1alpha1\ntoken: |x ${secret}\n  y\n`, // a bad block scalar header
    `version: v1alpha1\npassword: ${secret}\npassword: ${secret}\n`, // a duplicate key
    `version: v1alpha1\ntoken: [${secret}\nhostname: x\n`, // an unclosed flow sequence
    `version: v1alpha1\ntoken: "${secret}\n` // an unclosed quote
  ]
  for (const text of docs) {
    try {
      parseMachineConfig(text)
      assert.fail(`accepted: ${text}`)
    } catch (err) {
      assert.ok(isCodedError(err), String(err))
      const all = err.message + JSON.stringify(err.details)
      assert.ok(!all.includes('SECRET'), `no secret in: ${all}`)
    }
  }
  const text = variant(d => { d.secrets = { token: secret } })
  const [issue] = issuesOf(text)
  const line = text.split('\n').indexOf('secrets:') + 1
  assert.deepEqual(issue, { path: 'secrets', message: 'secrets do not belong in a machine config, which is stored, printed and signed in the clear; node secrets travel separately, encrypted to the node (docs/machine-config.md#secrets). Remove this section', line })
})

test('YAML problems are issues with line:column', () => {
  const cases: [string, [string, string][]][] = [
    ['version: v1alpha1\nhostname: a\nhostname: b\n', [['line 3:1', 'duplicate key hostname']]],
    ['version: v1alpha1\nnetwork: [a\nhostname: x\n', [['line 3:1', 'bad indentation (items of one mapping or list start in the same column; a flow [ or { needs its closing bracket)']]],
    ['version: v1alpha1\n\thostname: x\n', [['line 2:1', 'tabs cannot indent YAML: use spaces']]],
    ['version: v1alpha1\n---\nversion: v1alpha1\n', [['line 2:1', 'one machine config per file: this is a second YAML document']]],
    ['version: !foo v1alpha1\n', [['line 1:10', 'unknown tag: only the YAML 1.2 core tags (!!str, !!int, !!bool, !!float, !!null, !!seq, !!map) are read']]],
    ['version: !!binary aGk=\n', [['line 1:19', 'unknown tag: only the YAML 1.2 core tags (!!str, !!int, !!bool, !!float, !!null, !!seq, !!map) are read']]],
    ['? [a, b]\n: x\n', [['line 1:3', 'keys must be plain strings']]],
    ['1: x\n', [['line 1:1', 'keys must be plain strings']]],
    ['hostname: *nope\n', [['(document)', 'an alias refers to no anchor defined before it']]],
    ['', [['(document)', 'the document is empty: expected a MachineConfig mapping (version, kind, hostname, install, network, ...)']]],
    ['- a\n- b\n', [['(document)', 'expected a MachineConfig mapping at the top level, got a list']]],
    ['just text\n', [['(document)', 'expected a MachineConfig mapping at the top level, got a string']]]
  ]
  for (const [text, expected] of cases) assert.deepEqual(pairs(issuesOf(text)), expected, JSON.stringify(text))
})

test('alias bombs are refused from the document\'s structure, before anything expands', () => {
  // "Billion laughs": 9 aliases per level, each level nine times the one below (9^9 strings).
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x]']
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i)
    levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(', ')}]`)
  }
  assert.deepEqual(pairs(issuesOf(levels.join('\n'))), [['(document)', `${9 * 8} aliases; a machine config may use at most ${MAX_ALIASES}`]])
  // Few aliases, but nested: the library's count (aliases times what each expands to) stops it.
  const nested = 'a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n'
  assert.deepEqual(pairs(issuesOf(nested)), [['(document)', `anchors and aliases expand too far (more than ${MAX_ALIASES}): refused as a resource exhaustion attack`]])
  // A few plain aliases are fine.
  const shared = variant(() => {}).replace('routes:\n', 'routes: &r\n') + ''
  assert.ok(shared.includes('&r'))
  assert.equal(parseMachineConfig(shared).hostname, 'node-01')
})

test('a document over 256 KiB is refused before it is parsed', () => {
  const text = variant(() => {}) + `# ${'x'.repeat(MAX_DOCUMENT_BYTES)}\n`
  assert.deepEqual(pairs(issuesOf(text)), [['(document)', `the document is ${Buffer.byteLength(text)} bytes; a machine config holds at most 262144 (256 KiB)`]])
  const multibyte = 'é'.repeat(MAX_DOCUMENT_BYTES / 2 + 1) // counted in UTF-8 bytes, not characters
  assert.match(issuesOf(multibyte)[0]?.message ?? '', /^the document is 262146 bytes/)
})
