// What a Debian `ipmi_sim` (OpenIPMI 2.0.33) needs to run as a BMC: its LAN config, its emulator
// commands, and a chassis-control program. One writer for the lab's BMCs, the test helper and the
// IPMI benchmark (LAB-NOTES "IPMI with ipmi_sim"; ipmi_lan(5), ipmi_sim_cmd(5)).

/** A user beyond user 1 (anonymous, absent); the first is user 2. */
export type SimUser = { readonly name: string, readonly password: string, readonly priv: 'user' | 'operator' | 'admin' }

export type LanConfOptions = {
  /** ipmi_sim's name for the BMC (also where it keeps persistent data under its state dir). */
  readonly name: string
  readonly address: string
  readonly port: number
  /** 32 hex digits. */
  readonly guid: string
  /** The chassis_control command line; ipmi_sim splits it on spaces (no spaces in paths). */
  readonly chassisControl?: string
  /** A system interface for QEMU's ipmi-bmc-extern: `serial 15 127.0.0.1 PORT codec VM` (LAB-NOTES). */
  readonly vmSerialPort?: number
  readonly users: readonly SimUser[]
}

/** Every auth type for every privilege, so ipmitool over IPMI v1.5 (-I lan) works too. */
const AUTHS = 'none md2 md5 straight'

/** ipmi_sim's LAN config: one channel on one address, the users, the chassis program, a VM's serial interface. */
export function ipmiSimLanConf (o: LanConfOptions): string {
  return [
    `name "${o.name}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${o.address} ${o.port}`,
    '    priv_limit admin',
    ...['callback', 'user', 'operator', 'admin'].map(p => `    allowed_auths_${p} ${AUTHS}`),
    `    guid ${o.guid}`,
    '  endlan',
    ...(o.chassisControl === undefined ? [] : [`  chassis_control "${o.chassisControl}"`]),
    ...(o.vmSerialPort === undefined ? [] : [`  serial 15 127.0.0.1 ${o.vmSerialPort} codec VM`]),
    ...o.users.map((u, i) => `  user ${i + 2} true "${u.name}" "${u.password}" ${u.priv} 10 ${AUTHS}`)
  ].join('\n') + '\n'
}

/** The emulator commands: one BMC at 0x20 with Get Device ID values (IPMI v2.0 §20.1): firmware 9.08, IPMI 2.0, OpenIPMI's IANA. */
export const IPMI_SIM_EMU = 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n'

/**
 * A chassis-control program that keeps power and boot device in the files `power` and `boot`
 * beside it (LAB-NOTES: `get power` prints power:1|0, `get boot` boot:DEVICE; `set power 1`,
 * `set boot pxe`, `set shutdown 1`, `set reset 1`). Plain sh with builtins: ipmi_sim runs it
 * synchronously for every Get Chassis Status.
 */
export const FILE_CHASSIS_SCRIPT = `#!/bin/sh
dir=$(dirname "$0")
op=$1; shift
case "$op" in
  get)
    for what in "$@"; do
      case "$what" in
        power) read -r p 2>/dev/null < "$dir/power"; echo "power:\${p:-0}" ;;
        boot) read -r b 2>/dev/null < "$dir/boot"; echo "boot:\${b:-default}" ;;
      esac
    done ;;
  set)
    while [ $# -ge 2 ]; do
      case "$1" in
        power|boot) printf '%s\\n' "$2" > "$dir/$1" ;;
        shutdown) echo 0 > "$dir/power" ;;
      esac
      printf '%s %s\\n' "$1" "$2" >> "$dir/chassis.log"
      shift 2
    done ;;
esac
`
