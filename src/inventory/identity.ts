import { sanitizeText } from '../lib/text.ts'
import { UuidStatus } from './machine.ts'

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

/**
 * UUIDs that firmware vendors ship unchanged on every board (AMI/Supermicro's famous
 * 03000200-0400-0500-0006-000700080009, and the sequential-digits placeholders): they identify
 * nothing, so they are treated like all-zero. Seen in the field and in MAAS/Ironic bug reports.
 */
const PLACEHOLDER_UUIDS = new Set([
  '03000200-0400-0500-0006-000700080009',
  '00020003-0004-0005-0006-000700080009',
  '12345678-1234-5678-90ab-cddeefaabbcc',
  '4c4c4544-0000-2010-8020-80c04f202020'
])

/** The result of judging a reported SMBIOS UUID on its own (duplicates need the inventory). */
export type UuidVerdict = { readonly uuid: string | null, readonly status: UuidStatus, readonly reason: string }

/** Canonical lower-case dashed form, or null when the text is not a UUID. */
export function canonicalUuid (text: string): string | null {
  const t = text.trim()
  if (!UUID_RE.test(t)) return null
  const h = t.replace(/-/g, '').toLowerCase()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Decides whether a reported SMBIOS UUID can serve as an identity (SMBIOS 3.x §7.2.1). */
export function judgeUuid (reported: string | null | undefined): UuidVerdict {
  if (reported === undefined || reported === null || reported.trim() === '') {
    return { uuid: null, status: UuidStatus.missing, reason: 'the firmware reported no SMBIOS UUID' }
  }
  const uuid = canonicalUuid(reported)
  if (uuid === null) return { uuid: null, status: UuidStatus.invalid, reason: `the reported UUID ${JSON.stringify(reported)} is malformed` }
  const hex = uuid.replace(/-/g, '')
  // SMBIOS: all-FF means "not present", all-zero means "present but not set".
  if (/^0+$/.test(hex)) return { uuid: null, status: UuidStatus.invalid, reason: 'the SMBIOS UUID is all zeros (not set by the vendor)' }
  if (/^f+$/.test(hex)) return { uuid: null, status: UuidStatus.invalid, reason: 'the SMBIOS UUID is all FF (not present)' }
  if (PLACEHOLDER_UUIDS.has(uuid)) return { uuid: null, status: UuidStatus.invalid, reason: `the SMBIOS UUID ${uuid} is a vendor placeholder shared by many boards` }
  return { uuid, status: UuidStatus.valid, reason: 'valid SMBIOS UUID' }
}

/**
 * iPXE prints unset settings as empty strings and some firmware pads with spaces or "To Be Filled".
 * Control characters (C0, DEL, C1) go first: the value comes from the machine being provisioned
 * and is shown in terminals, where ESC or CSI would start a control sequence (src/lib/text.ts).
 */
export function cleanSmbiosString (value: string | undefined): string | null {
  if (value === undefined) return null
  const v = sanitizeText(value).trim()
  if (v === '' || /^(to be filled by o\.e\.m\.|default string|not specified|none|system serial number|0+)$/i.test(v)) return null
  return v
}
