import { copyFile, open } from 'node:fs/promises'
import { join } from 'node:path'

/** Firmware a lab VM boots with. */
export const Firmware = { bios: 'bios', uefi: 'uefi' } as const
export type Firmware = typeof Firmware[keyof typeof Firmware]

/** OVMF from Debian's `ovmf` package: read-only code, and variables copied per VM. */
export const OVMF = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.fd'
} as const

/** Everything that identifies one lab VM; fixed per index so the inventory can be asserted. */
export type VmIdentity = {
  readonly index: number
  readonly name: string
  readonly firmware: Firmware
  readonly mac: string
  readonly uuid: string
  readonly serial: string
  readonly manufacturer: string
  readonly product: string
  readonly tap: string
}

/** The identity of VM `index` (1–239): MAC 52:54:00:77:00:1N, serial LAB000N, a fixed UUID. */
export function vmIdentity (index: number, firmware: Firmware): VmIdentity {
  if (!Number.isInteger(index) || index < 1 || index > 0xef) throw new RangeError(`VM index out of range: ${index}`)
  const hex = (0x10 + index).toString(16).padStart(2, '0')
  return {
    index,
    name: `vm${index}`,
    firmware,
    mac: `52:54:00:77:00:${hex}`,
    // Version 4, RFC 4122 variant: a UUID the inventory accepts as valid.
    uuid: `a4e1ab00-0077-4000-8000-0000000000${hex}`,
    serial: `LAB${String(index).padStart(4, '0')}`,
    manufacturer: 'Anvil Lab',
    product: 'VM',
    tap: `tap${index}`
  }
}

/** Files a VM writes under the run directory. */
export function vmFiles (runDir: string, vm: VmIdentity): { serialLog: string, vars: string, stdoutLog: string, disk: string } {
  return {
    serialLog: join(runDir, `${vm.name}.serial.log`),
    vars: join(runDir, `${vm.name}.OVMF_VARS.fd`),
    stdoutLog: join(runDir, `${vm.name}.qemu.log`),
    disk: join(runDir, `${vm.name}.disk.raw`)
  }
}

/**
 * How a VM behind a simulated BMC differs (lab/bmc.ts): its chassis-control program starts it
 * again and again, so the console log is appended to; a human monitor on 127.0.0.1:monitorPort
 * in the namespace takes `boot_set` and `system_reset`; no -no-reboot (a reset must reset, not
 * end QEMU); a disk to boot from; no bootindex on the NIC, so SeaBIOS follows `-boot order`,
 * which the chassis-control program appends with the boot device.
 */
export type BmcVmOptions = { readonly monitorPort: number }

/** The TCP port of VM `index`'s QEMU monitor, on the namespace's own loopback. */
export function monitorPort (index: number): number {
  return 4400 + index
}

/**
 * QEMU's argv for a lab VM. TCG only (KVM is unusable on these machines: LAB-NOTES). BIOS boots
 * through QEMU's built-in iPXE NIC ROM; UEFI boots OVMF's native PXE (the NIC's option ROM is
 * emptied with romfile=), which loads snponly.efi over TFTP and chains to HTTP.
 */
export function qemuArgv (vm: VmIdentity, runDir: string, bmc?: BmcVmOptions): string[] {
  const files = vmFiles(runDir, vm)
  const smbios = `type=1,manufacturer=${vm.manufacturer},product=${vm.product},serial=${vm.serial},uuid=${vm.uuid}`
  const argv = [
    'qemu-system-x86_64',
    '-name', `anvil-lab-${vm.name}`,
    '-machine', 'pc,accel=tcg',
    '-m', '512',
    '-smp', '1',
    // -nographic: SeaBIOS and iPXE print to the serial port only in this mode (LAB-NOTES).
    '-nographic',
    ...(bmc === undefined
      ? ['-serial', `file:${files.serialLog}`, '-monitor', 'none', '-no-reboot']
      : ['-chardev', `file,id=serial0,path=${files.serialLog},append=on`, '-serial', 'chardev:serial0',
          '-monitor', `tcp:127.0.0.1:${bmc.monitorPort},server=on,wait=off`,
          '-drive', `file=${files.disk},format=raw,if=none,id=disk0`]),
    '-smbios', smbios,
    '-netdev', `tap,id=net0,ifname=${vm.tap},script=no,downscript=no`
  ]
  // With a BMC the boot device is chosen at power-on (lab/chassis-control.sh), not here.
  const bootindex = bmc === undefined ? ',bootindex=1' : ''
  switch (vm.firmware) {
    case 'bios':
      argv.push('-device', `virtio-net-pci,netdev=net0,mac=${vm.mac}${bootindex}`)
      break
    case 'uefi':
      argv.push(
        '-nodefaults',
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`,
        '-drive', `if=pflash,format=raw,unit=1,file=${files.vars}`,
        '-device', `virtio-net-pci,netdev=net0,mac=${vm.mac},romfile=${bootindex}`
      )
      break
  }
  if (bmc !== undefined) argv.push('-device', `virtio-blk-pci,drive=disk0,serial=${vm.serial}D`)
  return argv
}

/** Prepares a VM's files before QEMU starts (a private copy of the OVMF variable store). */
export async function prepareVm (vm: VmIdentity, runDir: string): Promise<void> {
  if (vm.firmware === 'uefi') await copyFile(OVMF.vars, vmFiles(runDir, vm).vars)
}

/** What a VM's disk prints when SeaBIOS boots it: the proof on the console that it booted from disk. */
export const DISK_BOOT_MESSAGE = 'anvil-lab: booted from disk'

/**
 * A 16 MiB sparse raw disk whose MBR prints DISK_BOOT_MESSAGE and halts. A blank disk would not
 * do: SeaBIOS then falls through to the NIC's iPXE ROM (measured), so "boot from disk" would PXE
 * boot anyway and could not be told apart from "boot from the network".
 */
export async function writeBootDisk (file: string): Promise<void> {
  const mbr = Buffer.alloc(512)
  // 16-bit real mode at 0000:7C00: print the NUL-terminated message at 7C1A with BIOS teletype
  // (INT 10h AH=0Eh; SeaBIOS's serial console copies it to the serial port), then halt forever.
  //   xor ax,ax; mov ds,ax; mov si,7C1Ah; cld
  //   next: lodsb; or al,al; jz stop; mov ah,0Eh; mov bx,7; int 10h; jmp next
  //   stop: sti; halt: hlt; jmp halt   (interrupts on: SeaBIOS's serial console flushes from its timer)
  Buffer.from('31c08ed8be1a7cfcac08c07409b40ebb0700cd10ebf2fbf4ebfd', 'hex').copy(mbr, 0)
  Buffer.from(`\r\n${DISK_BOOT_MESSAGE}\r\n\x00`, 'latin1').copy(mbr, 0x1a)
  // The boot signature SeaBIOS checks before it jumps to the sector.
  mbr[510] = 0x55
  mbr[511] = 0xaa
  const handle = await open(file, 'w')
  try {
    await handle.write(mbr, 0, mbr.length, 0)
    await handle.truncate(16 << 20)
  } finally {
    await handle.close()
  }
}

/** The firmware of the i-th VM (1-based) for a --firmware choice; mixed alternates, BIOS first. */
export function firmwareFor (choice: Firmware | 'mixed', index: number): Firmware {
  if (choice !== 'mixed') return choice
  return index % 2 === 1 ? 'bios' : 'uefi'
}
