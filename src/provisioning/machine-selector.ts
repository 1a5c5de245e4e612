import { CodedError } from '../lib/errors.ts'
import { MachineState, UuidStatus, type Machine } from '../inventory/machine.ts'
import type { MachineFilter } from '../inventory/ports.ts'
import { globMatch } from './selector.ts'

/*
 * A fleet selector: `key=value[,key=value]`, every pair must hold. state and uuidStatus are the
 * filters GET /api/v1/machines takes (MachineFilter, run by the store); the other keys are machine
 * fields matched as whole-string globs (`serial=SN-*`, globMatch), MACs by any of the machine's.
 */

const FIELDS = ['id', 'serial', 'manufacturer', 'product', 'firmware', 'arch', 'ip', 'mac'] as const
type Field = typeof FIELDS[number]
export const SELECTOR_KEYS: readonly string[] = ['state', 'uuidStatus', ...FIELDS]
export const MAX_SELECTOR_LENGTH = 512

export type MachineSelector = {
  readonly filter: MachineFilter
  readonly fields: ReadonlyArray<readonly [Field, string]>
}

function invalid (message: string): CodedError {
  return new CodedError('ERR_VALIDATION', message, { field: 'selector', keys: [...SELECTOR_KEYS] })
}

const quote = (s: string): string => JSON.stringify(s.slice(0, 64))

/** Parses `key=value[,key=value]`; ERR_VALIDATION names what is wrong. */
export function parseMachineSelector (text: string): MachineSelector {
  if (typeof text !== 'string' || text.trim() === '') throw invalid('a selector is key=value[,key=value] (e.g. state=provisioned); an empty one would select every machine')
  if (text.length > MAX_SELECTOR_LENGTH) throw invalid(`a selector is at most ${MAX_SELECTOR_LENGTH} characters`)
  let filter: { state?: MachineState, uuidStatus?: UuidStatus } = {}
  const fields: Array<readonly [Field, string]> = []
  const seen = new Set<string>()
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=')
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim()
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim()
    if (eq < 0 || value === '') throw invalid(`${quote(pair)} is not key=value`)
    if (!SELECTOR_KEYS.includes(key)) throw invalid(`unknown selector key ${quote(key)}: one of ${SELECTOR_KEYS.join(', ')}`)
    if (seen.has(key)) throw invalid(`selector key ${quote(key)} given twice`)
    seen.add(key)
    if (key === 'state') {
      if (!(Object.values(MachineState) as string[]).includes(value)) throw invalid(`state ${quote(value)} is not one of ${Object.values(MachineState).join(', ')}`)
      filter = { ...filter, state: value as MachineState }
    } else if (key === 'uuidStatus') {
      if (!(Object.values(UuidStatus) as string[]).includes(value)) throw invalid(`uuidStatus ${quote(value)} is not one of ${Object.values(UuidStatus).join(', ')}`)
      filter = { ...filter, uuidStatus: value as UuidStatus }
    } else {
      fields.push([key as Field, key === 'mac' ? value.toLowerCase() : value])
    }
  }
  return { filter, fields }
}

/** True when the machine has every field the selector names (the filter part is the store's). */
export function machineMatches (s: MachineSelector, m: Machine): boolean {
  return s.fields.every(([field, pattern]) => {
    if (field === 'mac') return m.macs.some(mac => globMatch(pattern, mac))
    const v = m[field]
    return v !== null && globMatch(pattern, v)
  })
}
