import { join } from 'node:path'
import { LAB_NET } from './netns.ts'

// dnsmasq (Debian's dnsmasq-base) plays two parts in the lab, never Anvil's own:
//  - router advertisements on br0, so iPXE does not wait ~13 s for IPv6 (LAB-NOTES);
//  - in proxy mode, the site's ordinary DHCP server that hands out addresses but no boot file,
//    in its own namespace on the bridge (it owns port 67 there; Anvil owns port 67 in the rack).

/** Options every lab dnsmasq gets: no config file, no DNS, stay in the foreground, log to stderr. */
function common (runDir: string, role: string): string[] {
  return [
    'dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    `--pid-file=${join(runDir, `dnsmasq-${role}.pid`)}`,
    '--port=0',
    '--no-resolv',
    '--no-hosts',
    '--log-facility=-',
    '--user=root',
    '--bind-interfaces'
  ]
}

/** RA-only dnsmasq on the bridge: advertises fd77::/64 (SLAAC), binds no DHCP port. */
export function raArgv (runDir: string): string[] {
  return [
    ...common(runDir, 'ra'),
    `--interface=${LAB_NET.bridge}`,
    '--enable-ra',
    `--dhcp-range=::,constructor:${LAB_NET.bridge},ra-only`
  ]
}

/** The site DHCP server: addresses from .100–.199 with the lab as router, no PXE options at all. */
export function siteDhcpArgv (runDir: string): string[] {
  return [
    ...common(runDir, 'site'),
    '--interface=eth0',
    '--dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,1h',
    `--dhcp-option=option:router,${LAB_NET.serverAddress}`,
    `--dhcp-leasefile=${join(runDir, 'site-dhcp.leases')}`,
    '--dhcp-authoritative',
    '--log-dhcp'
  ]
}
