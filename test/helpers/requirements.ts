import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

/** True when `name` is on PATH. */
export function hasProgram (name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export type Requirement = { readonly root?: boolean, readonly programs?: readonly string[], readonly files?: readonly string[] }

/**
 * Why a test tier cannot run here, or undefined when it can. Under CI=true a missing requirement
 * throws instead: CI is root and runs lab/setup.sh, so a skip there would hide a broken setup.
 */
export function skipReason (tier: string, req: Requirement): string | undefined {
  const missing: string[] = []
  if (req.root === true && process.getuid?.() !== 0) missing.push('root')
  for (const p of req.programs ?? []) if (!hasProgram(p)) missing.push(`program ${p}`)
  for (const f of req.files ?? []) if (!existsSync(f)) missing.push(f)
  if (missing.length === 0) return undefined
  const reason = `${tier} needs ${missing.join(', ')}; as root, run bash lab/setup.sh`
  if (process.env.CI === 'true') throw new Error(`CI must not skip ${tier}: ${reason}`)
  return reason
}
