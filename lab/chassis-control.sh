#!/bin/sh
# The chassis behind a lab BMC: ipmi_sim's `chassis_control` program (LAB-NOTES "IPMI with
# ipmi_sim"). ipmi_sim runs it synchronously, for every Get Chassis Status too, so it is plain
# POSIX sh with builtins on the hot path (no Node, no forks for `get power`).
#
#   chassis-control.sh DIR get power|boot ...      prints power:1|0, boot:pxe|default|...
#   chassis-control.sh DIR set power 1|0           start / stop this VM's QEMU
#   chassis-control.sh DIR set boot pxe|default    store the boot device (ipmitool's "disk" is "default")
#   chassis-control.sh DIR set reset 1             boot_set + system_reset over the QEMU monitor
#   chassis-control.sh DIR set shutdown 1          soft off: stop QEMU (firmware has no ACPI handler)
#
# DIR (written by lab/bmc.ts) holds: qemu.args (QEMU's argv, one per line, without -boot),
# monitor.port (QEMU's human monitor on 127.0.0.1 in the namespace), boot (the stored device),
# firmware (bios|uefi), and receives qemu.pid (from QEMU's -pidfile), qemu.log and chassis.log.
dir=$1
shift
[ -d "$dir" ] || { echo "chassis-control: no directory $dir" >&2; exit 1; }

# The PID of this VM's QEMU if it runs; an exited but unreaped QEMU (state Z) counts as off,
# as does a PID reused by some other program (its comm is not qemu-system-*).
qemu_pid() {
  [ -r "$dir/qemu.pid" ] || return 1
  read -r pid < "$dir/qemu.pid" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  read -r stat < "/proc/$pid/stat" || return 1
  case "$stat" in
    *"(qemu-system-"*") Z "*|*"(qemu-system-"*") X "*) return 1 ;;
    *"(qemu-system-"*) echo "$pid"; return 0 ;;
  esac
  return 1
}

boot_device() {
  dev=default
  [ -r "$dir/boot" ] && read -r dev < "$dir/boot"
  echo "${dev:-default}"
}

# SeaBIOS ignores IPMI boot flags: the device becomes QEMU's boot order (n = network, c = disk).
boot_order() {
  case "$(boot_device)" in pxe) echo n ;; *) echo c ;; esac
}

log() {
  echo "$(date -u +%H:%M:%S) $*" >> "$dir/chassis.log"
}

power_on() {
  qemu_pid > /dev/null && return 0
  rm -f "$dir/qemu.pid"
  set --
  while IFS= read -r arg; do set -- "$@" "$arg"; done < "$dir/qemu.args"
  fw=bios
  [ -r "$dir/firmware" ] && read -r fw < "$dir/firmware"
  if [ "$fw" = uefi ]; then
    # OVMF boots by bootindex (fw_cfg "bootorder"), not by -boot order.
    if [ "$(boot_order)" = n ]; then nic=1 disk=2; else nic=2 disk=1; fi
    set -- "$@" -global "virtio-net-pci.bootindex=$nic" -global "virtio-blk-pci.bootindex=$disk"
  else
    set -- "$@" -boot "order=$(boot_order)"
  fi
  log "power on: boot $(boot_device)"
  # Detached: its own session, stdio not ours (ipmi_sim reads our stdout until EOF).
  setsid -f "$@" -pidfile "$dir/qemu.pid" < /dev/null >> "$dir/qemu.log" 2>&1
  # -pidfile is written once QEMU is initialised; report on only after that (bounded: 5 s).
  i=0
  while [ $i -lt 50 ]; do
    qemu_pid > /dev/null && return 0
    sleep 0.1
    i=$((i + 1))
  done
  log "power on: QEMU did not start (see qemu.log)"
  return 1
}

power_off() {
  pid=$(qemu_pid) || return 0
  log "power off: pid $pid"
  kill -TERM "$pid" 2> /dev/null
  i=0
  while [ $i -lt 30 ]; do
    qemu_pid > /dev/null || return 0
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL "$pid" 2> /dev/null
  sleep 0.1
}

# Hard reset: QEMU keeps running; the new boot order applies from the reset on.
reset() {
  qemu_pid > /dev/null || return 0
  port=
  [ -r "$dir/monitor.port" ] && read -r port < "$dir/monitor.port"
  log "reset: boot $(boot_device)"
  # busybox nc does not exit at end of input; the monitor answers within milliseconds.
  printf 'boot_set %s\nsystem_reset\n' "$(boot_order)" | timeout 2 busybox nc 127.0.0.1 "$port" > /dev/null 2>&1
  return 0
}

op=$1
shift
case "$op" in
  get)
    for what in "$@"; do
      case "$what" in
        power) if qemu_pid > /dev/null; then echo power:1; else echo power:0; fi ;;
        boot) echo "boot:$(boot_device)" ;;
      esac
    done
    ;;
  set)
    while [ $# -ge 2 ]; do
      case "$1" in
        power) if [ "$2" = 1 ]; then power_on; else power_off; fi ;;
        boot) printf '%s\n' "$2" > "$dir/boot"; log "boot device $2" ;;
        reset) [ "$2" = 1 ] && reset ;;
        shutdown) [ "$2" = 1 ] && power_off ;;
        *) log "ignored: set $1 $2" ;;
      esac
      shift 2
    done
    ;;
  *) echo "usage: chassis-control.sh DIR get|set ..." >&2; exit 1 ;;
esac
exit 0
