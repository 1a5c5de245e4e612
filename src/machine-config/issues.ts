import { CodedError } from '../lib/errors.ts'

/** One problem in a machine config: where (key path such as `network.interfaces[1].mtu`) and what is wrong. */
export type MachineConfigIssue = { readonly path: string, readonly message: string, readonly line?: number }

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** `a.b[0].c`, with keys that are not identifiers quoted (`sysctls["net.ipv4.ip_forward"]`). */
export function formatPath (path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(document)'
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else if (IDENTIFIER.test(String(p))) out += out === '' ? String(p) : `.${String(p)}`
    else out += `[${JSON.stringify(String(p))}]`
  }
  return out
}

/** The one error a machine config that cannot be used throws: every issue at once, in `details.issues`. */
export function invalidMachineConfig (issues: readonly MachineConfigIssue[], source = 'machine config'): CodedError {
  const lines = issues.map(i => `  ${i.path}: ${i.message}`)
  return new CodedError('ERR_MACHINE_CONFIG_INVALID', `invalid ${source} (${issues.length} ${issues.length === 1 ? 'issue' : 'issues'}):\n${lines.join('\n')}`, { issues })
}
