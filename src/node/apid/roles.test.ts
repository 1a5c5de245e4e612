import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadNodeProto } from '../../grpc/proto.ts'
import { METHOD_ROLES, ROLES, highestRole, isRole, requiredRole, roleAllows, type Role } from './roles.ts'

const OPERATOR = new Set(['Reboot', 'Shutdown'])
const ADMIN = new Set(['Upgrade', 'Rollback', 'Reset', 'ApplyConfig'])

test('the table names exactly the methods of anvil.node.v1.Node', async () => {
  const proto = await loadNodeProto()
  const methods = Object.keys(proto.anvil.node.v1.Node.service).sort()
  assert.deepEqual(Object.keys(METHOD_ROLES).sort(), methods)
})

test('read-only methods need reader, Reboot and Shutdown operator, Upgrade, Rollback, Reset and ApplyConfig admin', () => {
  for (const [method, role] of Object.entries(METHOD_ROLES)) {
    assert.equal(role, ADMIN.has(method) ? 'admin' : OPERATOR.has(method) ? 'operator' : 'reader', method)
  }
})

test('every role × every method, and a method not in the table is admin-only', () => {
  const expect: Record<Role, (m: string) => boolean> = {
    reader: (m) => !OPERATOR.has(m) && !ADMIN.has(m) && Object.hasOwn(METHOD_ROLES, m),
    operator: (m) => !ADMIN.has(m) && Object.hasOwn(METHOD_ROLES, m),
    admin: () => true
  }
  for (const method of [...Object.keys(METHOD_ROLES), 'RunCommand', 'toString', '__proto__', '']) {
    for (const role of ROLES) assert.equal(roleAllows(role, method), expect[role](method), `${role} ${method}`)
  }
  assert.equal(requiredRole('Upgrade'), 'admin')
  assert.equal(requiredRole('constructor'), 'admin')
})

test('role names are exact, and the highest of several wins', () => {
  assert.ok(isRole('admin'))
  for (const s of ['Admin', 'os:admin', 'admin ', '', 'root']) assert.equal(isRole(s), false, s)
  assert.equal(highestRole(['reader', 'admin', 'operator']), 'admin')
  assert.equal(highestRole(['reader', 'operator']), 'operator')
  assert.equal(highestRole([]), undefined)
})
