import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** A boot file clients load first over TFTP (the iPXE first stages), and who loads it. */
export type FirstStage = { readonly file: string, readonly role: string, readonly advertised: boolean }

/** What the check found for one first stage. */
export type FirstStageResult = FirstStage & (
  | { readonly status: 'ok' }
  | { readonly status: 'missing' }
  | { readonly status: 'mismatch', readonly expected: string, readonly actual: string }
  /** Present, but SHA256SUMS has no line for it (or there is no SHA256SUMS): served unverified. */
  | { readonly status: 'unlisted' }
)

export type FirstStageReport = { readonly sums: boolean, readonly results: readonly FirstStageResult[] }

/** `sha256sum` output ("<64 hex>  name", or " *name" in binary mode) as name → hash. */
export function parseSha256Sums (text: string): Map<string, string> {
  const sums = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trimEnd())
    if (m?.[1] !== undefined && m[2] !== undefined) sums.set(m[2], m[1].toLowerCase())
  }
  return sums
}

/**
 * The first stages to check: the two that DHCP hands out (dhcp.biosBootFile and
 * dhcp.efiX64BootFile), then every other file SHA256SUMS lists (ipxe.efi, the alternative).
 */
export function firstStages (dhcp: { readonly biosBootFile: string, readonly efiX64BootFile: string }, sums: ReadonlyMap<string, string>): FirstStage[] {
  const stages: FirstStage[] = [
    { file: dhcp.biosBootFile, role: 'BIOS PXE clients (dhcp.biosBootFile)', advertised: true },
    { file: dhcp.efiX64BootFile, role: 'UEFI x86-64 PXE clients (dhcp.efiX64BootFile)', advertised: true }
  ]
  for (const file of sums.keys()) {
    if (!stages.some(s => s.file === file)) stages.push({ file, role: `clients told to load ${file}`, advertised: false })
  }
  return stages
}

/** Reads `root`/SHA256SUMS and hashes each first stage (about 1 MB in all, a few ms). */
export async function checkFirstStages (root: string, dhcp: { readonly biosBootFile: string, readonly efiX64BootFile: string }): Promise<FirstStageReport> {
  let sumsText: string | undefined
  try {
    sumsText = await readFile(join(root, 'SHA256SUMS'), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const sums = parseSha256Sums(sumsText ?? '')
  const results = await Promise.all(firstStages(dhcp, sums).map(async (stage): Promise<FirstStageResult> => {
    let bytes: Buffer
    try {
      bytes = await readFile(join(root, stage.file))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'EISDIR') return { ...stage, status: 'missing' }
      throw err
    }
    const expected = sums.get(stage.file)
    if (expected === undefined) return { ...stage, status: 'unlisted' }
    const actual = createHash('sha256').update(bytes).digest('hex')
    return actual === expected ? { ...stage, status: 'ok' } : { ...stage, status: 'mismatch', expected, actual }
  }))
  return { sums: sumsText !== undefined, results }
}

/** A log line about the report: what the server prints at start. */
export type FirstStageMessage = { readonly level: 'info' | 'warn' | 'error', readonly fields: Record<string, unknown>, readonly msg: string }

/** Says which first stages are missing, different or unverified, or that all match, once each. */
export function describeFirstStages (root: string, report: FirstStageReport): FirstStageMessage[] {
  const out: FirstStageMessage[] = []
  if (!report.sums) out.push({ level: 'warn', fields: { bootAssets: root }, msg: `boot assets: no SHA256SUMS in ${root}, so the iPXE first stages are served unverified` })
  for (const r of report.results) {
    const fields = { bootAssets: root, file: r.file }
    switch (r.status) {
      case 'ok':
        break
      case 'missing':
        out.push({ level: r.advertised ? 'error' : 'warn', fields, msg: `boot assets: ${r.file} is missing from ${root}: ${r.role} cannot boot (TFTP answers "File not found"). A clone of Anvil has it in boot-assets/; restore it with \`git checkout -- boot-assets/${r.file}\` or \`npm run boot-assets\`` })
        break
      case 'mismatch':
        out.push({ level: 'error', fields: { ...fields, sha256: r.actual, expected: r.expected }, msg: `boot assets: ${r.file} in ${root} does not match SHA256SUMS: ${r.role} would get a file nobody reviewed. Restore it (\`npm run boot-assets\`), or for a build of your own, update SHA256SUMS` })
        break
      case 'unlisted':
        if (report.sums) out.push({ level: 'warn', fields, msg: `boot assets: ${r.file} (${r.role}) has no line in SHA256SUMS, so it is served unverified` })
        break
    }
  }
  const ok = report.results.filter(r => r.status === 'ok').map(r => r.file)
  if (ok.length === report.results.length) out.push({ level: 'info', fields: { bootAssets: root, files: ok }, msg: `boot assets: ${ok.join(', ')} match SHA256SUMS` })
  return out
}
