import { CodedError } from '../lib/errors.ts'
import { GRUB_PARTITION } from './layout.ts'

/**
 * GRUB pieces the image needs without grub-install (which writes to the host's disks): the BIOS
 * stage patched for where core.img sits, the environment block that holds the A/B counters, and
 * the one static grub.cfg both firmwares run. Offsets are those of GRUB 2.06's
 * include/grub/i386/pc/boot.h and grub-core/boot/i386/pc/{boot,diskboot}.S; what is patched is
 * what util/setup.c (grub-bios-setup) does on a GPT disk with a BIOS boot partition.
 */

const KERNEL_SECTOR = 0x5c // boot.img: LE64 LBA of core.img's first sector (diskboot)
const BOOT_DRIVE = 0x64 //    boot.img: 0xFF = use the drive the BIOS booted from (DL)
const DRIVE_CHECK = 0x66 //   boot.img: `jmp 3f`, NOPped by setup.c for hard disks (trust DL only if 0x8x)
const BOOT_CODE_BYTES = 440 // MBR boot code ends where the disk signature starts (UEFI §5.2.1)
const BLOCKLIST = 0x1f4 //    diskboot.img: first blocklist entry {start LE64, len LE16, segment LE16}
const BLOCKLIST_ENTRY = 12

/** GRUB's boot.img with core.img's LBA written in, cut to the 440 bytes of MBR boot code. */
export function patchBootImage (bootImg: Buffer, coreLba: number): Buffer {
  if (bootImg.length !== 512 || bootImg.readUInt16LE(510) !== 0xaa55) throw new CodedError('ERR_INVALID_ARG_VALUE', 'boot.img: not a 512-byte boot sector')
  if (bootImg.readUInt16LE(DRIVE_CHECK) !== 0x05eb) throw new CodedError('ERR_INVALID_ARG_VALUE', 'boot.img: no `jmp` at the drive check (another GRUB version?)')
  const code = Buffer.from(bootImg.subarray(0, BOOT_CODE_BYTES))
  code.writeBigUInt64LE(BigInt(coreLba), KERNEL_SECTOR)
  code[BOOT_DRIVE] = 0xff
  code.writeUInt16LE(0x9090, DRIVE_CHECK)
  return code
}

/**
 * core.img (from grub-mkimage -O i386-pc) with its first blocklist pointing at the sectors after
 * its first one, padded to whole sectors. grub-mkimage already filled in the length; the entry
 * below it must be zero (the list's terminator), which it is in a fresh image.
 */
export function patchCoreImage (coreImg: Buffer, coreLba: number): Buffer {
  const sectors = Math.ceil(coreImg.length / 512)
  const core = Buffer.alloc(sectors * 512)
  coreImg.copy(core)
  const length = core.readUInt16LE(BLOCKLIST + 8)
  if (length !== sectors - 1) throw new CodedError('ERR_INVALID_ARG_VALUE', `core.img: blocklist length ${length}, expected ${sectors - 1} (not a grub-mkimage i386-pc image?)`)
  if (!core.subarray(BLOCKLIST - BLOCKLIST_ENTRY, BLOCKLIST).equals(Buffer.alloc(BLOCKLIST_ENTRY))) throw new CodedError('ERR_INVALID_ARG_VALUE', 'core.img: blocklist terminator is not zero')
  core.writeBigUInt64LE(BigInt(coreLba + 1), BLOCKLIST)
  return core
}

/** GRUB's environment block: exactly 1024 bytes (grub-core/lib/envblk.c, GRUB_ENVBLK_DEFCFG). */
export const GRUBENV_SIZE = 1024
const GRUBENV_HEADER = '# GRUB Environment Block\n'
const VALUE_RE = /^[A-Za-z0-9 ._:-]*$/
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The A/B variables grub.cfg reads (docs/image.md "A/B selection"). */
export type AbEnv = {
  readonly ANVIL_ORDER: string
  readonly A_OK: string
  readonly A_LEFT: string
  readonly B_OK: string
  readonly B_LEFT: string
}

/** What a fresh image holds: slot A first, three tries, nothing committed, slot B empty. */
export const INITIAL_ENV: AbEnv = { ANVIL_ORDER: 'A B', A_OK: '0', A_LEFT: '3', B_OK: '0', B_LEFT: '0' }

/**
 * Encodes an environment block: the header line, `KEY=VALUE\n` lines in the given order, `#`
 * padding to 1024 bytes. Values are restricted to characters GRUB never escapes, so the
 * variables the node rewrites stay in the block's first 512-byte sector.
 */
export function encodeGrubenv (vars: Readonly<Record<string, string>>): Buffer {
  let text = GRUBENV_HEADER
  for (const [key, value] of Object.entries(vars)) {
    if (!KEY_RE.test(key) || !VALUE_RE.test(value)) throw new CodedError('ERR_INVALID_ARG_VALUE', `grubenv: ${key}=${value} not allowed`)
    text += `${key}=${value}\n`
  }
  if (text.length > GRUBENV_SIZE) throw new CodedError('ERR_INVALID_ARG_VALUE', 'grubenv: more than 1024 bytes')
  return Buffer.from(text.padEnd(GRUBENV_SIZE, '#'), 'latin1')
}

/** Decodes an environment block (as GRUB's envblk does: the header, then lines up to the `#` padding). */
export function decodeGrubenv (block: Buffer): Record<string, string> {
  const text = block.toString('latin1')
  if (block.length !== GRUBENV_SIZE || !text.startsWith(GRUBENV_HEADER)) throw new CodedError('ERR_INVALID_ARG_VALUE', 'grubenv: not a 1024-byte GRUB environment block')
  const vars: Record<string, string> = {}
  for (const line of text.slice(GRUBENV_HEADER.length).split('\n')) {
    if (line.startsWith('#') || line === '') continue
    const eq = line.indexOf('=')
    if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return vars
}

/** The kernel command line after `anvil.slot=` and `anvil.try=`. */
export const KERNEL_ARGS = 'console=tty0 console=ttyS0,115200 panic=-1 quiet'

/** The highest try count grub.cfg can decrement (GRUB script has no arithmetic). */
export const MAX_TRIES = 9

/**
 * The static grub.cfg, the same for BIOS and UEFI, never rewritten by an upgrade (only grubenv
 * is). The slot order comes from ANVIL_ORDER; a slot marked OK boots without counting; any other
 * slot boots only if a try is left, and that try is spent (save_env) BEFORE the kernel loads, so a
 * slot that panics, hangs into a watchdog or never reaches the node's "commit" runs out of tries
 * and the next slot in the order boots. A slot that fails to load (no filesystem, no kernel) falls
 * through to the next slot in the same boot. No slot left: `exit` back to the firmware, whose next
 * boot device is the network (Anvil then sees a provisioned machine PXE-boot).
 */
export function grubCfg (): string {
  const dec: string[] = []
  for (let n = MAX_TRIES; n >= 2; n--) dec.push(`${n === MAX_TRIES ? 'if' : 'elif'} [ "$left" = ${n} ]; then set left=${n - 1}`)
  return `# Anvil node: A/B slot selection (docs/image.md). Static: upgrades rewrite grubenv, never this file.
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set ANVIL_ORDER="A B"
set A_OK=0
set A_LEFT=0
set B_OK=0
set B_LEFT=0
set envfile=$prefix/grubenv
if load_env --file $envfile ANVIL_ORDER A_OK A_LEFT B_OK B_LEFT; then true; else echo "anvil-grub: cannot read grubenv: no slot will boot"; fi
# The slots are on the disk GRUB itself came from: $root is (disk,${GRUB_PARTITION.efi}) from the prefix.
regexp --set=1:anvil_disk '^([^,]+)' "$root"
echo "anvil-grub: order=$ANVIL_ORDER A_OK=$A_OK A_LEFT=$A_LEFT B_OK=$B_OK B_LEFT=$B_LEFT disk=$anvil_disk"
for s in $ANVIL_ORDER; do
  if [ "$s" = A ]; then set ok="$A_OK"; set left="$A_LEFT"; set part=${GRUB_PARTITION.A}
  elif [ "$s" = B ]; then set ok="$B_OK"; set left="$B_LEFT"; set part=${GRUB_PARTITION.B}
  else continue; fi
  set try=0
  if [ "$ok" != 1 ]; then
    if [ "$left" -gt 0 ]; then true; else echo "anvil-grub: slot $s: not committed, no tries left"; continue; fi
    ${dec.join('\n    ')}
    else set left=0; fi
    if [ "$s" = A ]; then set A_LEFT="$left"; else set B_LEFT="$left"; fi
    # Spend the try before booting; a try that cannot be recorded is not taken.
    if save_env --file $envfile A_LEFT B_LEFT; then set try=1; else echo "anvil-grub: slot $s: cannot record the try"; continue; fi
  fi
  echo "anvil-grub: slot $s try=$try left=$left"
  if linux ($anvil_disk,$part)/vmlinuz anvil.slot=$s anvil.try=$try ${KERNEL_ARGS}; then
    if initrd ($anvil_disk,$part)/initramfs.img; then echo "anvil-grub: slot $s loaded: booting"; boot; fi
  fi
  echo "anvil-grub: slot $s failed to load"
done
echo "anvil-grub: no bootable slot: back to the firmware"
exit
`
}
