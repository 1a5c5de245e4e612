/**
 * The one table of who may call what on the node API (src/proto/node.proto, service
 * anvil.node.v1.Node). A method that is not listed is admin-only: a method added to the proto
 * without a decision here is closed by default (Talos `role.go` does the same), and
 * roles.test.ts fails until the table names it.
 */

/** The roles a client certificate can carry in its subject O, lowest first. */
export const ROLES = ['reader', 'operator', 'admin'] as const
export type Role = typeof ROLES[number]

const RANK: Readonly<Record<Role, number>> = { reader: 0, operator: 1, admin: 2 }

/** Minimum role per method of anvil.node.v1.Node, by the method's name in the proto. */
export const METHOD_ROLES: Readonly<Record<string, Role>> = Object.freeze({
  Version: 'reader',
  Services: 'reader',
  Memory: 'reader',
  Disks: 'reader',
  Mounts: 'reader',
  Processes: 'reader',
  Dmesg: 'reader',
  Logs: 'reader',
  Operations: 'reader',
  GetOperation: 'reader',
  Reboot: 'operator',
  Shutdown: 'operator',
  Upgrade: 'admin',
  Rollback: 'admin',
  Reset: 'admin',
  ApplyConfig: 'admin'
})

/** True for the three role names, nothing else (case matters: `O=Admin` is no role). */
export function isRole (value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}

/** The role a method needs: its table entry, or admin for anything the table does not list. */
export function requiredRole (method: string): Role {
  return Object.hasOwn(METHOD_ROLES, method) ? METHOD_ROLES[method] ?? 'admin' : 'admin'
}

/** True when `role` is at least the method's required role (reader < operator < admin). */
export function roleAllows (role: Role, method: string): boolean {
  return RANK[role] >= RANK[requiredRole(method)]
}

/** The highest of several roles (a certificate may carry more than one O), or undefined for none. */
export function highestRole (roles: Iterable<Role>): Role | undefined {
  let best: Role | undefined
  for (const r of roles) if (best === undefined || RANK[r] > RANK[best]) best = r
  return best
}
