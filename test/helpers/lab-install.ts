// Helpers for the install lab tests (test/e2e/install-flow.test.ts, bench/install.ts): a node
// image built and signed with a lab's own keys, the anvil CLI against a lab, the signed-install
// API calls, and what the host reads back from a VM's disk file afterwards.
import { execFile } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../../lab/anvil.ts'
import type { Lab } from '../../lab/start-lab.ts'
import { decodeGrubenv } from '../../src/image/grub.ts'
import { decodeManifest, type ImageManifest } from '../../src/image/manifest.ts'
import { COPY_OFFSETS, COPY_READ_BYTES, pickState, type StateRecord } from '../../src/node-state/record.ts'
import { ensureSigningKeys, signingKeyFiles } from '../../src/signing/keys.ts'

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** The image the lab installs: where it was built, with the key directory that signed it. */
export type LabImage = {
  readonly dir: string
  readonly manifestFile: string
  readonly artifactFile: string
  readonly manifest: ImageManifest
  /** A data directory holding only the signing keys (image.key, config.key): copied into each lab's. */
  readonly keysDir: string
  readonly seconds: number
}

/** Runs a program (explicit argv, no shell); rejects with its stderr. */
export async function run (file: string, args: readonly string[], options: { timeoutMs?: number, env?: NodeJS.ProcessEnv, cwd?: string, stdoutOnly?: boolean } = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd ?? REPO_ROOT, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 << 20, env: options.env ?? process.env }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${(stderr.trim() || stdout.trim() || err.message).slice(-4000)}`))
      else resolve(options.stdoutOnly === true ? stdout : stdout + stderr)
    })
  })
}

/**
 * Builds the node image as a site does (`npm run build:image` with ANVIL_DATA_DIR): signed with
 * this key directory's image key, and with its public keys baked into the root. The keys are made
 * here once, so the lab's Anvil is started with the same ones (copyKeys). `version` (default
 * package.json's) builds an image to upgrade to; `keysFrom` signs it with an image built before
 * (and bakes the same keys in), as a site builds its next release.
 */
export async function buildLabImage (o: { version?: string, keysFrom?: LabImage } = {}): Promise<LabImage> {
  const started = performance.now()
  const version = o.version ?? VERSION
  const keysDir = o.keysFrom?.keysDir ?? mkdtempSync(join(tmpdir(), 'anvil-lab-keys-'))
  chmodSync(keysDir, 0o700)
  await ensureSigningKeys(keysDir)
  const dir = mkdtempSync(join(tmpdir(), 'anvil-lab-image-'))
  const env = { ...process.env, ANVIL_DATA_DIR: keysDir, ANVIL_IMAGE_OUT: dir, ANVIL_IMAGE_VERSION: version }
  await run('bash', ['boot-assets/build-image.sh', '--out', dir], { timeoutMs: 900_000, env })
  await run(process.execPath, ['--import', 'tsx', 'src/image/sign-step.ts'], { timeoutMs: 120_000, env })
  const manifestFile = join(dir, `anvil-node-${version}.manifest.json`)
  return {
    dir,
    manifestFile,
    artifactFile: join(dir, `anvil-node-${version}.raw.zst`),
    manifest: decodeManifest(readFileSync(manifestFile)),
    keysDir,
    seconds: (performance.now() - started) / 1000
  }
}

/** Removes what buildLabImage made (the image and the key directory). */
export function removeLabImage (image: LabImage): void {
  rmSync(image.dir, { recursive: true, force: true })
  rmSync(image.keysDir, { recursive: true, force: true })
}

/** Puts the image's signing keys into a lab's data directory before its Anvil first starts. */
export function copyKeys (image: LabImage, dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  for (const name of ['image', 'config'] as const) {
    const from = signingKeyFiles(image.keysDir, name)
    const to = signingKeyFiles(dataDir, name)
    copyFileSync(from.keyFile, to.keyFile)
    chmodSync(to.keyFile, 0o600)
    copyFileSync(from.publicKeyFile, to.publicKeyFile)
  }
}

/** The anvil CLI against a lab, as an operator runs it (bin/anvil). */
export async function cli (lab: Lab, args: readonly string[], timeoutMs = 120_000, o: { env?: Record<string, string>, stdoutOnly?: boolean, inLab?: boolean } = {}): Promise<string> {
  // inLab: from inside the lab's namespace, where the VMs' addresses are (the node API verbs).
  const anvil = join(REPO_ROOT, 'bin/anvil')
  const [file, argv] = o.inLab === true ? ['ip', ['netns', 'exec', lab.ns, anvil, ...args]] : [anvil, args]
  return await run(file, argv, {
    timeoutMs,
    env: { ...process.env, ANVIL_ENDPOINT: lab.api.endpoint, ANVIL_TOKEN_FILE: lab.anvil.tokenFile, ...o.env },
    ...(o.stdoutOnly === undefined ? {} : { stdoutOnly: o.stdoutOnly })
  })
}

/** An admin API call answering status and body (errors are answers too). */
export async function api (lab: Lab, method: 'GET' | 'POST', path: string, json?: unknown): Promise<{ status: number, body: any }> {
  const token = readFileSync(lab.anvil.tokenFile, 'utf8').trim()
  const res = await fetch(`${lab.api.endpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    signal: AbortSignal.timeout(30_000)
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

/** A machine config for a lab VM: DHCP on its one NIC, the install disk by serial. */
export function labMachineConfig (hostname: string, mac: string, diskSerial: string): string {
  return [
    'version: v1alpha1',
    'kind: MachineConfig',
    `hostname: ${hostname}`,
    'install:',
    '  disk:',
    `    serial: "${diskSerial}"`,
    'network:',
    '  interfaces:',
    `    - mac: "${mac}"`,
    '      dhcp: true',
    ''
  ].join('\n')
}

/** What the host reads from an installed disk file. */
export type DiskFacts = {
  /** sfdisk's view of the partition table, or undefined when it finds none. */
  readonly partitions: ReadonlyArray<{ readonly name: string, readonly start: number, readonly size: number }> | undefined
  readonly state: StateRecord | undefined
  readonly stateError: string | undefined
  readonly grubenv: Readonly<Record<string, string>> | undefined
}

/** Reads the partition table (sfdisk, an independent reader), STATE and grubenv from a disk file. */
export async function readDisk (file: string, manifest: ImageManifest): Promise<DiskFacts> {
  let partitions: DiskFacts['partitions']
  try {
    // stdout alone: sfdisk warns on stderr that the backup table is not at the end of the (grown) disk.
    const json = JSON.parse(await run('sfdisk', ['--json', file], { stdoutOnly: true })) as { partitiontable?: { partitions?: Array<{ name?: string, start: number, size: number }> } }
    partitions = (json.partitiontable?.partitions ?? []).map(p => ({ name: p.name ?? '', start: p.start, size: p.size }))
  } catch {
    partitions = undefined
  }
  const handle = await open(file, 'r')
  try {
    const statePart = manifest.layout.partitions.find(p => p.name === 'ANVIL-STATE')
    let state: StateRecord | undefined
    let stateError: string | undefined
    if (statePart !== undefined) {
      const base = statePart.firstLba * 512
      const copies = await Promise.all(COPY_OFFSETS.map(async (at) => {
        const buf = Buffer.alloc(COPY_READ_BYTES)
        const { bytesRead } = await handle.read(buf, 0, buf.length, base + at)
        return buf.subarray(0, bytesRead)
      }))
      try {
        state = pickState([copies[0] ?? Buffer.alloc(0), copies[1] ?? Buffer.alloc(0)])
      } catch (err) {
        stateError = (err as Error).message
      }
    }
    const env = Buffer.alloc(manifest.grubenv.size)
    await handle.read(env, 0, env.length, manifest.grubenv.offset)
    let grubenv: DiskFacts['grubenv']
    try {
      grubenv = decodeGrubenv(env)
    } catch {
      grubenv = undefined
    }
    return { partitions, state, stateError, grubenv }
  } finally {
    await handle.close()
  }
}

/** Flips one byte of a file in place (a corrupted store or a tampering server disk); returns the old byte. */
export async function flipByte (file: string, offset: number): Promise<number> {
  const handle = await open(file, 'r+')
  try {
    const b = Buffer.alloc(1)
    await handle.read(b, 0, 1, offset)
    const old = b[0] ?? 0
    b[0] = old ^ 0xff
    await handle.write(b, 0, 1, offset)
    return old
  } finally {
    await handle.close()
  }
}

/** Writes `value` back at `offset` (undoes flipByte). */
export async function restoreByte (file: string, offset: number, value: number): Promise<void> {
  const handle = await open(file, 'r+')
  try {
    await handle.write(Buffer.from([value]), 0, 1, offset)
  } finally {
    await handle.close()
  }
}
