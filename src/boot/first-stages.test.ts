import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkFirstStages, describeFirstStages, parseSha256Sums } from './first-stages.ts'

const DHCP = { biosBootFile: 'undionly.kpxe', efiX64BootFile: 'snponly.efi' }
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

/** A boot assets folder with these files and a SHA256SUMS over `listed` of them. */
function assets (files: Record<string, string>, listed: readonly string[] | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-stages-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  if (listed !== undefined) writeFileSync(join(dir, 'SHA256SUMS'), listed.map(n => `${sha(files[n] ?? 'gone')}  ${n}\n`).join(''))
  return dir
}

test('parseSha256Sums reads text and binary mode lines and ignores anything else', () => {
  const a = 'a'.repeat(64)
  const b = 'B'.repeat(64)
  assert.deepEqual([...parseSha256Sums(`${a}  undionly.kpxe\n${b} *snponly.efi\n# comment\n\nshort  x\n`)], [['undionly.kpxe', a], ['snponly.efi', 'b'.repeat(64)]])
})

test('all first stages present and matching: one info line naming them', async () => {
  const files = { 'undionly.kpxe': 'bios', 'snponly.efi': 'uefi', 'ipxe.efi': 'alt' }
  const dir = assets(files, ['undionly.kpxe', 'snponly.efi', 'ipxe.efi'])
  try {
    const report = await checkFirstStages(dir, DHCP)
    assert.deepEqual(report.results.map(r => [r.file, r.status]), [['undionly.kpxe', 'ok'], ['snponly.efi', 'ok'], ['ipxe.efi', 'ok']])
    const msgs = describeFirstStages(dir, report)
    assert.deepEqual(msgs.map(m => m.level), ['info'])
    assert.equal(msgs[0]?.msg, 'boot assets: undionly.kpxe, snponly.efi, ipxe.efi match SHA256SUMS')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a missing UEFI first stage and a changed BIOS one are errors naming the file, the clients and the fix', async () => {
  const dir = assets({ 'undionly.kpxe': 'bios', 'snponly.efi': 'uefi', 'ipxe.efi': 'alt' }, ['undionly.kpxe', 'snponly.efi', 'ipxe.efi'])
  try {
    rmSync(join(dir, 'snponly.efi'))
    rmSync(join(dir, 'ipxe.efi'))
    writeFileSync(join(dir, 'undionly.kpxe'), 'tampered')
    const report = await checkFirstStages(dir, DHCP)
    assert.deepEqual(report.results.map(r => [r.file, r.status]), [['undionly.kpxe', 'mismatch'], ['snponly.efi', 'missing'], ['ipxe.efi', 'missing']])
    const msgs = describeFirstStages(dir, report)
    assert.deepEqual(msgs.map(m => [m.level, m.fields.file]), [['error', 'undionly.kpxe'], ['error', 'snponly.efi'], ['warn', 'ipxe.efi']])
    assert.match(msgs[0]?.msg ?? '', /undionly\.kpxe .* does not match SHA256SUMS: BIOS PXE clients/)
    assert.equal(msgs[0]?.fields.sha256, sha('tampered'))
    assert.match(msgs[1]?.msg ?? '', /snponly\.efi is missing .*UEFI x86-64 PXE clients \(dhcp\.efiX64BootFile\) cannot boot .*git checkout -- boot-assets\/snponly\.efi/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a configured first stage without a SHA256SUMS line, or no SHA256SUMS at all, is served unverified with a warning', async () => {
  const dir = assets({ 'undionly.kpxe': 'bios', 'custom.efi': 'mine' }, ['undionly.kpxe'])
  try {
    const report = await checkFirstStages(dir, { biosBootFile: 'undionly.kpxe', efiX64BootFile: 'custom.efi' })
    assert.deepEqual(report.results.map(r => [r.file, r.status]), [['undionly.kpxe', 'ok'], ['custom.efi', 'unlisted']])
    assert.deepEqual(describeFirstStages(dir, report).map(m => [m.level, m.fields.file]), [['warn', 'custom.efi']])
    rmSync(join(dir, 'SHA256SUMS'))
    const none = await checkFirstStages(dir, DHCP)
    assert.equal(none.sums, false)
    assert.deepEqual(describeFirstStages(dir, none).map(m => m.level), ['warn', 'error'], 'no SHA256SUMS; snponly.efi missing')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
