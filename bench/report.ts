// Writes results into docs/benchmarks.md between per-protocol markers, keeping the hand-written
// methodology text around them, and describes the machine the figures came from.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import type { Section } from './context.ts'
import { run, which } from './proc.ts'

/** Every section's id; 'ipmi' and 'discovery' are declared by bench/ipmi.ts and bench/discovery.ts until context.ts's Section names them. */
export type SectionId = Section['id']

const TITLES: Record<SectionId, string> = { dhcp: 'DHCP', tftp: 'TFTP', http: 'HTTP boot files', ipmi: 'IPMI power status', discovery: 'Discovery', install: 'Install', node: 'The node (machined, trustd, apid)' }

const begin = (id: string): string => `<!-- bench:${id}:begin -->`
const end = (id: string): string => `<!-- bench:${id}:end -->`

async function version (argv: readonly string[], pattern: RegExp): Promise<string> {
  const [cmd, ...args] = argv
  const path = cmd === undefined ? undefined : which(cmd)
  if (path === undefined) return 'missing'
  const r = await run([path, ...args], { timeoutMs: 5000 })
  return pattern.exec(`${r.stdout}\n${r.stderr}`)?.[1] ?? 'unknown'
}

/** One line naming the machine: cores, CPU, memory, kernel, Node and the peers' versions. */
export async function machineLine (): Promise<string> {
  const kernel = (await run(['uname', '-r'], { timeoutMs: 5000 })).stdout.trim()
  const nproc = (await run(['nproc'], { timeoutMs: 5000 })).stdout.trim()
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU'
  const tools = [
    `perfdhcp ${await version(['perfdhcp', '-v'], /VERSION: (\S+)/)}`,
    `kea-dhcp4 ${await version(['kea-dhcp4', '-v'], /^(\S+)/)}`,
    `dnsmasq ${await version(['dnsmasq', '--version'], /version (\S+)/)}`,
    `curl ${await version(['curl', '--version'], /curl (\S+)/)}`,
    `atftp ${await version(['atftp', '--version'], /atftp-(\S+)/)}`,
    `tftpd-hpa ${await version(['in.tftpd', '-V'], /tftp-hpa ([\d.]+)/)}`,
    `nginx ${await version(['nginx', '-v'], /nginx\/(\S+)/)}`,
    `wrk ${await version(['wrk', '-v'], /wrk (\S+)/)}`,
    `ipmitool ${await version(['ipmitool', '-V'], /version (\S+)/)}`,
    // ipmi_sim reports its own 1.0.x; the OpenIPMI release is the Debian package's version.
    `openipmi ${await version(['dpkg-query', '-W', 'openipmi'], /openipmi\s+(\S+)/)}`
  ]
  return `nproc ${nproc}, ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, kernel ${kernel}, Node ${process.version}; ${tools.join(', ')}`
}

/** The block written between a protocol's markers. */
export function resultBlock (section: { readonly markdown: string }, meta: { command: string, date: string, machine: string, commit: string, quick: boolean }): string {
  return [
    `Measured ${meta.date} with \`${meta.command}\` (commit ${meta.commit})${meta.quick ? ', a **--quick smoke run: not figures to compare**' : ''}.`,
    `Machine: ${meta.machine}.`,
    '',
    section.markdown
  ].join('\n')
}

/**
 * Replaces each section's block in the document (adding a heading and markers at the end when the
 * protocol has none yet); everything outside the markers is left as it was.
 */
export function updateDocument (file: string, blocks: ReadonlyArray<{ id: SectionId, text: string }>): void {
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n'
  for (const { id, text } of blocks) {
    const a = doc.indexOf(begin(id))
    const b = doc.indexOf(end(id))
    const inner = `${begin(id)}\n${text}\n${end(id)}`
    if (a >= 0 && b > a) {
      doc = doc.slice(0, a) + inner + doc.slice(b + end(id).length)
    } else {
      doc = `${doc.trimEnd()}\n\n## ${TITLES[id]}\n\n${inner}\n`
    }
  }
  writeFileSync(file, doc)
}
