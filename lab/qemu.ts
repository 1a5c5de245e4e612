import { copyFile } from 'node:fs/promises'
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
export function vmFiles (runDir: string, vm: VmIdentity): { serialLog: string, vars: string, stdoutLog: string } {
  return {
    serialLog: join(runDir, `${vm.name}.serial.log`),
    vars: join(runDir, `${vm.name}.OVMF_VARS.fd`),
    stdoutLog: join(runDir, `${vm.name}.qemu.log`)
  }
}

/**
 * QEMU's argv for a lab VM. TCG only (KVM is unusable on these machines: LAB-NOTES). BIOS boots
 * through QEMU's built-in iPXE NIC ROM; UEFI boots OVMF's native PXE (the NIC's option ROM is
 * emptied with romfile=), which loads snponly.efi over TFTP and chains to HTTP.
 */
export function qemuArgv (vm: VmIdentity, runDir: string): string[] {
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
    '-serial', `file:${files.serialLog}`,
    '-monitor', 'none',
    '-no-reboot',
    '-smbios', smbios,
    '-netdev', `tap,id=net0,ifname=${vm.tap},script=no,downscript=no`
  ]
  switch (vm.firmware) {
    case 'bios':
      argv.push('-device', `virtio-net-pci,netdev=net0,mac=${vm.mac},bootindex=1`)
      break
    case 'uefi':
      argv.push(
        '-nodefaults',
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`,
        '-drive', `if=pflash,format=raw,unit=1,file=${files.vars}`,
        '-device', `virtio-net-pci,netdev=net0,mac=${vm.mac},romfile=,bootindex=1`
      )
      break
  }
  return argv
}

/** Prepares a VM's files before QEMU starts (a private copy of the OVMF variable store). */
export async function prepareVm (vm: VmIdentity, runDir: string): Promise<void> {
  if (vm.firmware === 'uefi') await copyFile(OVMF.vars, vmFiles(runDir, vm).vars)
}

/** The firmware of the i-th VM (1-based) for a --firmware choice; mixed alternates, BIOS first. */
export function firmwareFor (choice: Firmware | 'mixed', index: number): Firmware {
  if (choice !== 'mixed') return choice
  return index % 2 === 1 ? 'bios' : 'uefi'
}
