import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from './open.ts'
import { SqliteLeaseStore } from './lease-store.ts'
import type { Lease } from '../dhcp/lease-store.ts'

const lease = (address: number, mac: string, state: Lease['state'] = 'bound'): Lease => ({
  address, subnet: '10.77.0.0/24', mac, clientId: mac === 'aa' ? '01aa' : null, hostname: null, state, startsAt: 1, expiresAt: 2, updatedAt: 3
})

test('commit upserts by address and loadAll returns the rows', async () => {
  const db = openDatabase(':memory:')
  const store = new SqliteLeaseStore(db)
  await store.commit([lease(1, 'aa'), lease(2, 'bb')])
  await store.commit([lease(2, 'bb', 'released')])
  assert.deepEqual(await store.loadAll(), [lease(1, 'aa'), lease(2, 'bb', 'released')])
  db.$client.close()
})

test('a batch is one transaction: a failing row leaves none of the batch behind', async () => {
  const db = openDatabase(':memory:')
  const store = new SqliteLeaseStore(db)
  const bad = { ...lease(4, 'dd'), mac: null } as unknown as Lease
  await assert.rejects(store.commit([lease(3, 'cc'), bad]), /NOT NULL/)
  assert.deepEqual(await store.loadAll(), [])
  db.$client.close()
})

test('leases survive closing and reopening the database file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvdh-db-'))
  try {
    const file = join(dir, 'anvil.db')
    const db = openDatabase(file)
    await new SqliteLeaseStore(db).commit([lease(0x0a4d0064, 'aa')])
    db.$client.close()
    const again = openDatabase(file)
    assert.deepEqual(await new SqliteLeaseStore(again).loadAll(), [lease(0x0a4d0064, 'aa')])
    again.$client.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('boundAddressOf: the bound, unexpired lease of one of the MACs, as a dotted address', async () => {
  const db = openDatabase(':memory:')
  const store = new SqliteLeaseStore(db)
  const at = (address: number, mac: string, state: Lease['state'], expiresAt: number): Lease => ({ ...lease(address, mac, state), expiresAt })
  await store.commit([at(0x0a4d0064, '52:54:00:00:00:01', 'bound', 1000), at(0x0a4d0065, '52:54:00:00:00:02', 'released', 1000), at(0x0a4d0066, '52:54:00:00:00:03', 'bound', 10)])
  assert.equal(store.boundAddressOf(['52:54:00:00:00:09', '52:54:00:00:00:01'], 500), '10.77.0.100')
  assert.equal(store.boundAddressOf(['52:54:00:00:00:02'], 500), undefined, 'released')
  assert.equal(store.boundAddressOf(['52:54:00:00:00:03'], 500), undefined, 'expired')
  assert.equal(store.boundAddressOf([], 500), undefined)
  db.$client.close()
})
