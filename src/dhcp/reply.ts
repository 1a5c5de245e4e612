import { CodedError } from '../lib/errors.ts'
import { ipv4ToBytes } from '../lib/ipv4.ts'
import { BootOp, BROADCAST_FLAG, encodeDhcpPacket, encodedLength, type DhcpMessage } from './packet.ts'
import {
  DhcpOption, MessageType, getMaxMessageSize, getParameterList, getRelayAgentInfo, pxeVendorOptions, type DhcpOptions
} from './options.ts'

/** Network parameters of a subnet, sent with leases and INFORM answers (RFC 2132 §3). */
export type NetworkParams = {
  readonly subnetMask: string
  readonly routers: readonly string[]
  readonly dns: readonly string[]
  readonly domain?: string | undefined
}

/** An address handed out in authoritative mode. */
export type LeaseParams = NetworkParams & {
  readonly yiaddr: string
  readonly leaseTimeSec: number
}

/** Boot fields for a PXE/HTTP/iPXE client (see pxe.ts decideBoot). */
export type BootParams = {
  readonly bootFile: string
  readonly vendorClass: 'PXEClient' | 'HTTPClient'
  /** siaddr: where a TFTP first stage comes from (RFC 2131 §2 "next server"). */
  readonly nextServer: string
}

/** Everything a reply needs besides the request it answers. */
export type ReplySpec =
  | { readonly type: typeof MessageType.Offer | typeof MessageType.Ack, readonly serverId: string, readonly lease?: LeaseParams | undefined, readonly inform?: NetworkParams | undefined, readonly boot?: BootParams | undefined }
  | { readonly type: typeof MessageType.Nak, readonly serverId: string, readonly message: string }

const ZERO = '0.0.0.0'

function addresses (list: readonly string[]): Buffer {
  return Buffer.concat(list.map(ipv4ToBytes))
}

function u32 (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(n))), 0)
  return b
}

function networkOptions (o: DhcpOptions, p: NetworkParams): void {
  o.set(DhcpOption.SubnetMask, ipv4ToBytes(p.subnetMask))
  if (p.routers.length > 0) o.set(DhcpOption.Router, addresses(p.routers))
  if (p.dns.length > 0) o.set(DhcpOption.DomainServer, addresses(p.dns))
  if (p.domain !== undefined && p.domain.length > 0) o.set(DhcpOption.DomainName, Buffer.from(p.domain, 'latin1'))
}

/**
 * Builds an OFFER, ACK or NAK for `req` (RFC 2131 §4.3.1, table 3): xid, flags, giaddr and
 * chaddr copied; yiaddr only with a lease; boot fields for network-boot clients; options
 * 97 and 82 echoed (PXE 2.1 §2.4.2, RFC 3046 §2.2). Option 82 goes last (RFC 3046 §2.1).
 */
export function buildReply (req: DhcpMessage, spec: ReplySpec): DhcpMessage {
  const o: DhcpOptions = new Map()
  o.set(DhcpOption.MessageType, Buffer.from([spec.type]))
  o.set(DhcpOption.ServerId, ipv4ToBytes(spec.serverId))
  let yiaddr = ZERO
  let siaddr = ZERO
  let file = ''
  let flags = req.flags
  let ciaddr = ZERO
  if (spec.type === MessageType.Nak) {
    o.set(DhcpOption.Message, Buffer.from(spec.message, 'latin1'))
    // RFC 2131 §4.1: a NAK through a relay asks it to broadcast to the client.
    if (req.giaddr !== ZERO) flags |= BROADCAST_FLAG
  } else {
    if (spec.type === MessageType.Ack) ciaddr = req.ciaddr
    if (spec.lease !== undefined) {
      const l = spec.lease
      yiaddr = l.yiaddr
      // RFC 2131 §4.4.5: T1 = 0.5 and T2 = 0.875 of the lease.
      o.set(DhcpOption.LeaseTime, u32(l.leaseTimeSec))
      o.set(DhcpOption.RenewalTime, u32(l.leaseTimeSec * 0.5))
      o.set(DhcpOption.RebindingTime, u32(l.leaseTimeSec * 0.875))
      networkOptions(o, l)
    } else if (spec.inform !== undefined) {
      // RFC 2131 §4.3.5: INFORM gets parameters but no lease time and no yiaddr.
      networkOptions(o, spec.inform)
    }
    if (spec.boot !== undefined) {
      const b = spec.boot
      siaddr = b.nextServer
      o.set(DhcpOption.VendorClass, Buffer.from(b.vendorClass, 'latin1'))
      if (b.vendorClass === 'PXEClient') o.set(DhcpOption.VendorSpecific, pxeVendorOptions())
      // The file field holds 127 bytes; longer URLs go in option 67 alone (RFC 2132 §9.5).
      if (Buffer.byteLength(b.bootFile, 'latin1') < 128) file = b.bootFile
      else o.set(DhcpOption.BootfileName, Buffer.from(b.bootFile, 'latin1'))
      const uuid = req.options.get(DhcpOption.ClientMachineId)
      if (uuid !== undefined) o.set(DhcpOption.ClientMachineId, uuid)
    }
  }
  const agent = getRelayAgentInfo(req.options)
  if (agent !== undefined) o.set(DhcpOption.RelayAgentInfo, agent)
  return {
    op: BootOp.Reply,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags,
    ciaddr,
    yiaddr,
    siaddr,
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: '',
    file,
    options: o
  }
}

/** Options never dropped to fit a small client: without them the reply means nothing. */
const ESSENTIAL = new Set<number>([
  DhcpOption.MessageType, DhcpOption.ServerId, DhcpOption.LeaseTime, DhcpOption.SubnetMask,
  DhcpOption.VendorClass, DhcpOption.BootfileName, DhcpOption.RelayAgentInfo, DhcpOption.Message
])

/**
 * Largest reply the client accepts: option 57 counts the whole IP datagram, and no client may
 * say less than 576 (RFC 2132 §9.10); without it, 576 (RFC 2131 §2). 28 = IP + UDP headers.
 */
export function maxReplyLength (req: DhcpMessage): number {
  return Math.max(576, getMaxMessageSize(req.options) ?? 576) - 28
}

/**
 * Encodes a reply so it fits the client's limit (RFC 2132 §9.10), first dropping options it
 * did not ask for in option 55 (RFC 2131 §4.3.1 lets us), last added first.
 */
export function encodeReply (reply: DhcpMessage, req: DhcpMessage): Buffer {
  const limit = maxReplyLength(req)
  if (encodedLength(reply) <= limit) return encodeDhcpPacket(reply)
  const asked = new Set(getParameterList(req.options))
  const options = new Map(reply.options)
  for (const code of [...options.keys()].reverse()) {
    if (ESSENTIAL.has(code) || asked.has(code)) continue
    options.delete(code)
    if (encodedLength({ options }) <= limit) return encodeDhcpPacket({ ...reply, options })
  }
  throw new CodedError('ERR_DHCP_REPLY_TOO_LARGE', `reply needs ${encodedLength({ options })} bytes; the client accepts ${limit}`)
}

/** Where a reply is sent. */
export type Destination = { readonly address: string, readonly port: number, readonly broadcast: boolean }

/** Facts about how the request arrived. */
export type ArrivalInfo = {
  readonly from: { readonly address: string, readonly port: number }
  /** True for the PXE boot server port (4011): answer the sender directly (PXE 2.1 §2.2.6). */
  readonly proxyPort: boolean
  readonly clientPort: number
  readonly serverPort: number
}

/**
 * RFC 2131 §4.1: giaddr set → the relay's server port; else a NAK is broadcast; else ciaddr set
 * → unicast to it; else broadcast to 255.255.255.255 on the client port. (Unicasting to yiaddr
 * before the client has the address needs an ARP entry we cannot add from userland, so the
 * broadcast bit being clear still gets a broadcast, which §4.1 allows.)
 */
export function replyDestination (req: DhcpMessage, type: number, a: ArrivalInfo): Destination {
  if (a.proxyPort) return { address: a.from.address, port: a.from.port, broadcast: false }
  if (req.giaddr !== ZERO) return { address: req.giaddr, port: a.serverPort, broadcast: false }
  if (type !== MessageType.Nak && req.ciaddr !== ZERO) return { address: req.ciaddr, port: a.clientPort, broadcast: false }
  return { address: '255.255.255.255', port: a.clientPort, broadcast: true }
}
