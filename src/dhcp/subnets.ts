import type { SubnetConfig } from '../config/schema.ts'
import { cidrContains, intToIpv4, ipv4ToInt, parseCidr, parseRange, type Cidr } from '../lib/ipv4.ts'
import type { NetworkParams } from './reply.ts'

/** A configured subnet, parsed once: pool bounds and reservations as integers. */
export type Subnet = {
  /** CIDR text as configured, the `leases.subnet` column. */
  readonly name: string
  readonly cidr: Cidr
  readonly start: number
  readonly end: number
  readonly leaseTimeMs: number
  readonly network: NetworkParams
  /** MAC → reserved address. */
  readonly reservationByMac: ReadonlyMap<string, number>
  /** Reserved address → MAC. */
  readonly reservationByAddress: ReadonlyMap<number, string>
}

/** Parses config subnets (already validated by the config schema). */
export function parseSubnets (configs: readonly SubnetConfig[]): Subnet[] {
  return configs.map(c => {
    const cidr = parseCidr(c.subnet)
    const range = parseRange(c.range)
    const byMac = new Map<string, number>()
    const byAddress = new Map<number, string>()
    for (const r of c.reservations) {
      byMac.set(r.mac, ipv4ToInt(r.address))
      byAddress.set(ipv4ToInt(r.address), r.mac)
    }
    return {
      name: c.subnet,
      cidr,
      start: range.start,
      end: range.end,
      leaseTimeMs: c.leaseTime,
      network: {
        subnetMask: intToIpv4(cidr.mask),
        routers: c.router === undefined ? [] : [c.router],
        dns: c.dns,
        domain: c.domain
      },
      reservationByMac: byMac,
      reservationByAddress: byAddress
    }
  })
}

/** The subnet whose network contains `ip`, if any. */
export function subnetContaining (subnets: readonly Subnet[], ip: string): Subnet | undefined {
  if (ip === '0.0.0.0') return undefined
  const n = ipv4ToInt(ip)
  return subnets.find(s => cidrContains(s.cidr, n))
}
