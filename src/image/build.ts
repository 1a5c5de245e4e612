// The TypeScript half of boot-assets/build-image.sh (docs/image.md): from the parts the script made
// with Debian's tools (kernel, initramfs, GRUB's core.img and BOOTX64.EFI) it makes the two FAT
// filesystems (mkfs.vfat -C, mmd, mcopy: no root, no loop device, no mount), patches GRUB's BIOS
// stage for its place on the disk, writes the GPT, streams the disk through zstd and writes the
// manifest. Everything is a function of the inputs and SOURCE_DATE_EPOCH, so equal inputs give
// equal bytes.
//
//   node --import tsx src/image/build.ts --work DIR --out DIR --name anvil-node --version 0.1.0 \
//     --epoch SECONDS --security-version N --kernel F --initramfs F --core-img F --boot-img F --efi F [--raw F]
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, open, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { assembleImage, type Region } from './assemble.ts'
import { clusterOffset, decodeFatGeometry, parseMshowfat } from './fat.ts'
import { BACKUP_TABLE_BYTES, encodeGpt, PRIMARY_TABLE_BYTES, SECTOR_SIZE } from './gpt.ts'
import { encodeGrubenv, grubCfg, GRUBENV_SIZE, INITIAL_ENV, patchBootImage, patchCoreImage } from './grub.ts'
import { EPHEMERAL_START_MIB, fatVolumeId, imageDisk, MiB, partitionBytes, PartitionName, SLOTS } from './layout.ts'
import { CHUNK_SIZE, encodeManifest, IMAGE_SCHEMA, type ImageManifest } from './manifest.ts'

type Options = {
  work: string,
  out: string,
  name: string,
  version: string,
  epoch: number,
  securityVersion: number,
  kernel: string,
  initramfs: string,
  coreImg: string,
  bootImg: string,
  efi: string,
  raw?: string,
  zstdLevel: number
}

function options (): Options {
  const { values: v } = parseArgs({
    options: {
      work: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      version: { type: 'string' },
      epoch: { type: 'string' },
      'security-version': { type: 'string' },
      kernel: { type: 'string' },
      initramfs: { type: 'string' },
      'core-img': { type: 'string' },
      'boot-img': { type: 'string' },
      efi: { type: 'string' },
      raw: { type: 'string' },
      'zstd-level': { type: 'string', default: '3' }
    },
    strict: true
  })
  const need = (k: keyof typeof v): string => {
    const x = v[k]
    if (typeof x !== 'string' || x === '') throw new Error(`build.ts: --${k} is required`)
    return x
  }
  const int = (k: keyof typeof v): number => {
    const n = Number(need(k))
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`build.ts: --${k} must be a non-negative integer`)
    return n
  }
  const epoch = int('epoch')
  if (epoch < 315532800) throw new Error('build.ts: --epoch must be 1980-01-01 or later (FAT cannot store earlier times)')
  return {
    work: need('work'),
    out: need('out'),
    name: need('name'),
    version: need('version'),
    epoch,
    securityVersion: int('security-version'),
    kernel: need('kernel'),
    initramfs: need('initramfs'),
    coreImg: need('core-img'),
    bootImg: need('boot-img'),
    efi: need('efi'),
    zstdLevel: int('zstd-level'),
    ...(v.raw === undefined ? {} : { raw: v.raw })
  }
}

/** Runs a program with an explicit argv and a fixed environment (mtools reads SOURCE_DATE_EPOCH for the times it writes). */
async function tool (epoch: number, file: string, ...args: string[]): Promise<string> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC', SOURCE_DATE_EPOCH: String(epoch), MTOOLSRC: '/dev/null' }
  return await new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 4 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || err.message}`))
      else resolve(stdout)
    })
  })
}

/** Copies `file` into `dir` under `name` with its time set to the epoch, so mcopy -m stores the epoch. */
async function stage (o: Options, dir: string, name: string, data: Buffer): Promise<string> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, name)
  await writeFile(path, data)
  await utimes(path, o.epoch, o.epoch)
  return path
}

type Fat = { readonly path: string, readonly sizeBytes: number, readonly label: string, readonly fatBits: 16 | 32, readonly sectorsPerCluster: number, readonly dirs: readonly string[], readonly files: ReadonlyArray<readonly [string, string]> }

/** mkfs.vfat -C (--invariant first: it would reset a volume id given before it), then mmd and mcopy -m, in order. */
async function makeFat (o: Options, fat: Fat): Promise<void> {
  await tool(o.epoch, 'mkfs.vfat', '-C', '--invariant', '-i', fatVolumeId(o.name, o.version, fat.label), '-F', String(fat.fatBits),
    '-s', String(fat.sectorsPerCluster), '-S', '512', '-n', fat.label, fat.path, String(fat.sizeBytes / 1024))
  if (fat.dirs.length > 0) await tool(o.epoch, 'mmd', '-i', fat.path, ...fat.dirs.map(d => `::${d}`))
  for (const [src, dest] of fat.files) await tool(o.epoch, 'mcopy', '-m', '-i', fat.path, src, `::${dest}`)
}

/** Where grub/grubenv's bytes are inside the ESP image, checked against what was copied in. */
async function locateGrubenv (o: Options, esp: string, expected: Buffer): Promise<number> {
  const run = parseMshowfat(await tool(o.epoch, 'mshowfat', '-i', esp, '::/grub/grubenv'))
  if (run === undefined) throw new Error('build.ts: mshowfat shows no clusters for grub/grubenv')
  if (!run.contiguous) throw new Error('build.ts: grub/grubenv is not contiguous (it must be the first file copied)')
  const fh = await open(esp, 'r')
  try {
    const boot = Buffer.alloc(512)
    await fh.read(boot, 0, 512, 0)
    const offset = clusterOffset(decodeFatGeometry(boot), run.first)
    const found = Buffer.alloc(GRUBENV_SIZE)
    await fh.read(found, 0, GRUBENV_SIZE, offset)
    if (!found.equals(expected)) throw new Error(`build.ts: the bytes at ESP offset ${offset} are not grubenv`)
    return offset
  } finally {
    await fh.close()
  }
}

function sha256 (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

async function build (o: Options): Promise<void> {
  const started = performance.now()
  const disk = imageDisk(o.name, o.version)
  const diskSize = disk.sectors * SECTOR_SIZE
  const bios = partitionBytes(disk, PartitionName.bios)
  const efi = partitionBytes(disk, PartitionName.efi)
  const slotA = partitionBytes(disk, PartitionName.slotA)

  // The slot: the same bytes whichever slot it is written to (the slot letter comes from GRUB).
  const kernel = await readFile(o.kernel)
  const initramfs = await readFile(o.initramfs)
  const slotJson = Buffer.from(JSON.stringify({
    name: o.name,
    version: o.version,
    kernel: { file: 'vmlinuz', size: kernel.length, sha256: sha256(kernel) },
    initramfs: { file: 'initramfs.img', size: initramfs.length, sha256: sha256(initramfs) }
  }, null, 2) + '\n')
  const slotDir = join(o.work, 'slot')
  const slotImg = join(o.work, 'slot.img')
  await makeFat(o, {
    path: slotImg,
    sizeBytes: slotA.size,
    label: 'ANVIL-SLOT',
    fatBits: 16,
    sectorsPerCluster: 64,
    dirs: [],
    files: [
      [await stage(o, slotDir, 'vmlinuz', kernel), '/vmlinuz'],
      [await stage(o, slotDir, 'initramfs.img', initramfs), '/initramfs.img'],
      [await stage(o, slotDir, 'slot.json', slotJson), '/slot.json']
    ]
  })

  // The ESP: grubenv first, so it gets the first free clusters, contiguous.
  const espDir = join(o.work, 'esp')
  const espImg = join(o.work, 'esp.img')
  const grubenv = encodeGrubenv(INITIAL_ENV)
  await makeFat(o, {
    path: espImg,
    sizeBytes: efi.size,
    label: 'ANVIL-EFI',
    fatBits: 32,
    sectorsPerCluster: 1,
    dirs: ['/EFI', '/EFI/BOOT', '/grub'],
    files: [
      [await stage(o, espDir, 'grubenv', grubenv), '/grub/grubenv'],
      [await stage(o, espDir, 'grub.cfg', Buffer.from(grubCfg())), '/grub/grub.cfg'],
      [await stage(o, espDir, 'BOOTX64.EFI', await readFile(o.efi)), '/EFI/BOOT/BOOTX64.EFI']
    ]
  })
  const grubenvOffset = efi.offset + await locateGrubenv(o, espImg, grubenv)

  // BIOS: boot.img's code in LBA 0 points at core.img in the BIOS boot partition.
  const coreLba = bios.offset / SECTOR_SIZE
  const core = patchCoreImage(await readFile(o.coreImg), coreLba)
  if (core.length > bios.size) throw new Error(`build.ts: core.img (${core.length} bytes) does not fit the ${bios.size}-byte BIOS partition`)
  const tables = encodeGpt(disk, { bootCode: patchBootImage(await readFile(o.bootImg), coreLba) })

  const regions: Region[] = [
    { kind: 'bytes', name: 'primary GPT', offset: 0, data: Buffer.concat([tables.protectiveMbr, tables.primary]) },
    { kind: 'bytes', name: 'core.img', offset: bios.offset, data: core },
    { kind: 'file', name: 'ESP', offset: efi.offset, path: espImg, size: efi.size },
    { kind: 'file', name: 'slot A', offset: slotA.offset, path: slotImg, size: slotA.size },
    { kind: 'bytes', name: 'backup GPT', offset: tables.backupOffset, data: tables.backup }
  ]
  await mkdir(o.out, { recursive: true })
  const artifactFile = `${o.name}-${o.version}.raw.zst`
  const assembled = await assembleImage({ regions, size: diskSize, out: join(o.out, artifactFile), zstdLevel: o.zstdLevel, ...(o.raw === undefined ? {} : { rawOut: o.raw }) })

  const manifest: ImageManifest = {
    schema: IMAGE_SCHEMA,
    name: o.name,
    version: o.version,
    arch: 'x86_64',
    created: new Date(o.epoch * 1000).toISOString().replace('.000Z', 'Z'),
    securityVersion: o.securityVersion,
    artifact: {
      file: artifactFile,
      compression: 'zstd',
      size: assembled.size,
      sha256: assembled.sha256,
      chunkSize: CHUNK_SIZE,
      chunks: assembled.chunks,
      compressedSize: assembled.compressedSize,
      compressedSha256: assembled.compressedSha256,
      frames: assembled.frames
    },
    layout: {
      sectorSize: SECTOR_SIZE,
      minDiskBytes: (EPHEMERAL_START_MIB + 64 + 1) * MiB,
      diskGuid: disk.diskGuid,
      partitions: disk.partitions.map((p, i) => ({ number: i + 1, name: p.name, typeGuid: p.typeGuid, partGuid: p.partGuid, firstLba: p.firstLba, lastLba: p.lastLba })),
      tables: { primary: { offset: 0, length: PRIMARY_TABLE_BYTES }, backup: { offset: tables.backupOffset, length: BACKUP_TABLE_BYTES } }
    },
    grubenv: { partition: PartitionName.efi, offset: grubenvOffset, size: GRUBENV_SIZE },
    slots: { A: SLOTS.A, B: SLOTS.B }
  }
  await writeFile(join(o.out, `${o.name}-${o.version}.manifest.json`), encodeManifest(manifest))

  // Lines for PROVENANCE (the script adds them).
  const used = async (p: string): Promise<number> => (await stat(p)).blocks * 512
  await writeFile(join(o.work, 'provenance.txt'), [
    `layout: ${disk.partitions.map(p => `${p.name} ${p.firstLba}-${p.lastLba}`).join(', ')}; disk ${disk.diskGuid}; grubenv at byte ${grubenvOffset}`,
    `image: ${assembled.size} bytes raw (${assembled.chunks.length} chunks of 4 MiB), ${assembled.compressedSize} bytes zstd -${o.zstdLevel} (one frame per chunk); sha256 ${assembled.sha256}`,
    `parts: core.img ${core.length}, ESP ${await used(espImg)} used of ${efi.size}, slot ${await used(slotImg)} used of ${slotA.size} (vmlinuz ${kernel.length}, initramfs.img ${initramfs.length})`,
    `assembly: ${((performance.now() - started) / 1000).toFixed(1)} s`
  ].join('\n') + '\n')
}

await build(options())
