import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeGrubenv, encodeGrubenv, grubCfg, GRUBENV_SIZE, INITIAL_ENV, MAX_TRIES, patchBootImage, patchCoreImage } from './grub.ts'

/** A stand-in for GRUB 2.06's boot.img: `jmp` at 0x66, kernel_sector 1 at 0x5c, 0x55AA. */
function bootImg (): Buffer {
  const b = Buffer.alloc(512, 0x11)
  b.writeBigUInt64LE(1n, 0x5c)
  b[0x64] = 0xff
  b.writeUInt16LE(0x05eb, 0x66)
  b.writeUInt16LE(0xaa55, 510)
  return b
}

test('boot.img: core.img\'s LBA at 0x5C, the drive check NOPped, cut to 440 bytes of MBR code', () => {
  const code = patchBootImage(bootImg(), 2048)
  assert.equal(code.length, 440)
  assert.equal(code.readBigUInt64LE(0x5c), 2048n)
  assert.equal(code[0x64], 0xff, 'boot drive: the one the BIOS passed in DL')
  assert.equal(code.readUInt16LE(0x66), 0x9090)
  assert.equal(code[0], 0x11, 'the rest untouched')
  assert.throws(() => patchBootImage(Buffer.alloc(512), 2048), /boot sector/)
  const other = bootImg()
  other.writeUInt16LE(0, 0x66)
  assert.throws(() => patchBootImage(other, 2048), /drive check/)
})

test('core.img: the first blocklist entry starts at the sector after diskboot; padded to whole sectors', () => {
  const img = Buffer.alloc(3 * 512 + 100)
  img.writeBigUInt64LE(2n, 0x1f4) // diskboot.img's default start
  img.writeUInt16LE(3, 0x1fc) //    grub-mkimage's length: sectors after the first
  img.writeUInt16LE(0x0820, 0x1fe)
  const core = patchCoreImage(img, 2048)
  assert.equal(core.length, 4 * 512)
  assert.equal(core.readBigUInt64LE(0x1f4), 2049n)
  assert.equal(core.readUInt16LE(0x1fc), 3)
  assert.equal(core.readUInt16LE(0x1fe), 0x0820)
  assert.throws(() => patchCoreImage(Buffer.alloc(1024), 2048), /blocklist length/)
})

test('grubenv: 1024 bytes, the header line, the variables in order, # padding', () => {
  const env = encodeGrubenv(INITIAL_ENV)
  assert.equal(env.length, GRUBENV_SIZE)
  const text = '# GRUB Environment Block\nANVIL_ORDER=A B\nA_OK=0\nA_LEFT=3\nB_OK=0\nB_LEFT=0\n'
  assert.equal(env.toString('latin1', 0, text.length), text)
  assert.ok(env.subarray(text.length).every(b => b === 0x23))
  assert.ok(text.length < 512, 'every variable is in the first sector, which the node rewrites alone')
  assert.deepEqual(decodeGrubenv(env), { ...INITIAL_ENV })
  assert.throws(() => encodeGrubenv({ A: 'x\ny' }), /not allowed/)
  assert.throws(() => encodeGrubenv({ 'A-B': '1' }), /not allowed/)
  assert.throws(() => encodeGrubenv({ A: 'x'.repeat(1024) }), /1024/)
  assert.throws(() => decodeGrubenv(Buffer.alloc(1024)), /not a 1024-byte/)
})

test('grub.cfg: balanced blocks, the counters decremented from MAX_TRIES to 0, the try spent before the kernel loads', () => {
  const cfg = grubCfg()
  const words = cfg.replace(/"[^"]*"|'[^']*'|#[^\n]*/g, '').split(/[\s;]+/)
  assert.equal(words.filter(w => w === 'if').length, words.filter(w => w === 'fi').length)
  assert.equal(words.filter(w => w === 'for').length, words.filter(w => w === 'done').length)
  for (let n = MAX_TRIES; n >= 2; n--) assert.ok(cfg.includes(`[ "$left" = ${n} ]; then set left=${n - 1}`), `${n} → ${n - 1}`)
  assert.ok(cfg.indexOf('save_env') < cfg.indexOf('linux ('), 'save_env before linux')
  assert.match(cfg, /linux \(\$anvil_disk,\$part\)\/vmlinuz anvil\.slot=\$s anvil\.try=\$try .*panic=-1/)
  assert.match(cfg, /part=gpt3/)
  assert.match(cfg, /part=gpt4/)
  assert.match(cfg, /\nexit\n$/)
})
