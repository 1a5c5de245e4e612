import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InterfaceAddressWatch, acquireInterfaceWatch, ipv4Of, type AddressChange } from './interface-watch.ts'
import { fakeInterfaces } from './testing.ts'

test('ipv4Of: the first IPv4 address of the named interface, never an IPv6 one or another interface\'s', () => {
  const ifs = fakeInterfaces()
  ifs.set('eth0', '192.0.2.7')
  assert.equal(ipv4Of('br0', ifs.lookup), undefined)
  ifs.set('br0', 'fe80::1')
  assert.equal(ipv4Of('br0', ifs.lookup), undefined)
  ifs.set('br0', 'fe80::1', '10.77.0.1', '10.77.0.9')
  assert.equal(ipv4Of('br0', ifs.lookup), '10.77.0.1')
})

test('a watch reports an address appearing, changing and going away, once each, current() first', () => {
  const ifs = fakeInterfaces()
  const watch = new InterfaceAddressWatch({ name: 'br0', lookup: ifs.lookup })
  const seen: Array<AddressChange & { currentInListener: string | undefined }> = []
  const off = watch.onChange((c) => { seen.push({ ...c, currentInListener: watch.current() }) })
  assert.equal(watch.current(), undefined)
  assert.equal(watch.poll(), undefined, 'nothing changed')
  ifs.set('br0', '10.77.0.1')
  assert.deepEqual(watch.poll(), { name: 'br0', previous: undefined, current: '10.77.0.1' })
  assert.equal(watch.poll(), undefined, 'the same address again is no change')
  ifs.set('br0', '10.77.0.5')
  watch.poll()
  ifs.set('br0')
  watch.poll()
  assert.deepEqual(seen, [
    { name: 'br0', previous: undefined, current: '10.77.0.1', currentInListener: '10.77.0.1' },
    { name: 'br0', previous: '10.77.0.1', current: '10.77.0.5', currentInListener: '10.77.0.5' },
    { name: 'br0', previous: '10.77.0.5', current: undefined, currentInListener: undefined }
  ])
  off()
  ifs.set('br0', '10.77.0.1')
  assert.ok(watch.poll() !== undefined)
  assert.equal(seen.length, 3, 'an unsubscribed listener hears nothing')
})

test('a watch reads the address it has at construction', () => {
  const ifs = fakeInterfaces()
  ifs.set('br0', '10.77.0.1')
  assert.equal(new InterfaceAddressWatch({ name: 'br0', lookup: ifs.lookup }).current(), '10.77.0.1')
})

test('acquireInterfaceWatch shares one watch per interface until its last user releases it', () => {
  const a = acquireInterfaceWatch('anvil-test-none0')
  const b = acquireInterfaceWatch('anvil-test-none0')
  assert.equal(a.watch, b.watch)
  assert.equal(a.watch.current(), undefined, 'no such interface here')
  a.release()
  a.release() // twice is once
  const c = acquireInterfaceWatch('anvil-test-none0')
  assert.equal(c.watch, b.watch, 'b still holds it')
  b.release()
  c.release()
  const d = acquireInterfaceWatch('anvil-test-none0')
  assert.notEqual(d.watch, a.watch, 'released by all: a new one')
  d.release()
})
