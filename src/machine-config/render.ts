import { stringify } from 'yaml'
import { validateMachineConfig } from './parse.ts'
import type { MachineConfig } from './schema.ts'
import { formatSize } from './size.ts'

/** Empty lists and mappings are left out: parsing fills them back in, so the meaning is the same. */
function prune (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue
    if (Array.isArray(v) && v.length === 0) continue
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue
    out[k] = prune(v)
  }
  return out
}

/**
 * The canonical YAML text of a machine config, the bytes that get signed: validated and
 * normalized again (so a hand-built object cannot be signed unchecked), keys in schema order,
 * sysctls sorted, addresses and MACs in canonical form, sizes as their shortest exact unit
 * (400GiB), empty lists left out. Equal configs render to identical text; parsing the text gives
 * the config back.
 */
export function renderMachineConfig (config: MachineConfig): string {
  const canonical = validateMachineConfig(config)
  const disk = canonical.install.disk
  const doc = {
    ...canonical,
    install: {
      ...canonical.install,
      disk: {
        ...disk,
        ...(disk.minSize === undefined ? {} : { minSize: formatSize(disk.minSize) }),
        ...(disk.maxSize === undefined ? {} : { maxSize: formatSize(disk.maxSize) })
      }
    }
  }
  // Pinned output options: no anchors for repeated objects, no line folding, block style, and
  // every string value double-quoted, so a YAML 1.1 reader too sees strings (52:54:00:.. is a
  // base-60 number there, and yes/no are booleans).
  return stringify(prune(doc), { version: '1.2', indent: 2, lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false, defaultKeyType: 'PLAIN', defaultStringType: 'QUOTE_DOUBLE' })
}
