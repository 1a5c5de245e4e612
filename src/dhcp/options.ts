import { BufferReader } from '../lib/buffer-reader.ts'
import type { BufferWriter } from '../lib/buffer-writer.ts'
import { MalformedPacketError } from '../lib/errors.ts'
import { bytesToIpv4 } from '../lib/ipv4.ts'

/** DHCP option codes we read or write (RFC 2132 unless noted). */
export const DhcpOption = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DomainServer: 6,
  Hostname: 12,
  DomainName: 15,
  VendorSpecific: 43,
  RequestedAddress: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParameterList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  VendorClass: 60,
  ClientId: 61,
  TftpServerName: 66,
  BootfileName: 67,
  UserClass: 77, // RFC 3004
  RelayAgentInfo: 82, // RFC 3046
  ClientArch: 93, // RFC 4578
  ClientNdi: 94, // RFC 4578
  ClientMachineId: 97, // RFC 4578
  IpxeEncapsulated: 175, // iPXE's own space: its presence means the client is iPXE
  End: 255
} as const
export type DhcpOption = typeof DhcpOption[keyof typeof DhcpOption]

/** Option 53 values (RFC 2132 §9.6). */
export const MessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8
} as const
export type MessageType = typeof MessageType[keyof typeof MessageType]

const MESSAGE_TYPE_NAMES: Record<number, string> = {
  1: 'DISCOVER', 2: 'OFFER', 3: 'REQUEST', 4: 'DECLINE', 5: 'ACK', 6: 'NAK', 7: 'RELEASE', 8: 'INFORM'
}

/** DISCOVER, OFFER, ... or "type N" for values we do not know. */
export function messageTypeName (t: number | undefined): string {
  return t === undefined ? 'BOOTP' : (MESSAGE_TYPE_NAMES[t] ?? `type ${t}`)
}

/**
 * Options by code, in the order first seen. A code appears once: repeated instances of an
 * option are concatenated on decode and split again on encode (RFC 3396 §6, §7).
 */
export type DhcpOptions = Map<number, Buffer>

/**
 * Most option instances (TLVs; Pad and End are not counted) one datagram may carry, over all its
 * areas. The captures in test/fixtures/dhcp carry at most 12; splitting a long value (RFC 3396 §6)
 * takes ceil(len / 255) instances, and the longest value that fits in MAX_DHCP_DATAGRAM (packet.ts)
 * needs 34. Beyond this a datagram is a flood, not a message.
 */
export const MAX_OPTION_INSTANCES = 1024

/**
 * Gathers the option instances of one datagram from its areas (options field, then file and sname
 * when overloaded) and joins the instances of each code once, at the end (RFC 3396 §7). Joining
 * per instance as they arrive would copy the value again for every repeat: quadratic in the
 * number of repeats.
 */
export class OptionGatherer {
  readonly #parts = new Map<number, Buffer[]>()
  #instances = 0

  /**
   * Reads the TLVs of one option area.
   *   code(1) | len(1) | data(len)   except Pad (0) and End (255), which are one byte.
   * The area must end with End (RFC 2131 §4.1); bytes after End are padding.
   * Returns the offset just past End.
   */
  readArea (buf: Buffer, start: number, end: number, area: string): number {
    const r = new BufferReader(buf, start, end)
    while (r.remaining > 0) {
      const code = r.u8(`${area} option code`)
      if (code === DhcpOption.Pad) continue
      if (code === DhcpOption.End) return r.offset
      if (++this.#instances > MAX_OPTION_INSTANCES) {
        throw new MalformedPacketError(`more than ${MAX_OPTION_INSTANCES} option instances`, r.offset - 1)
      }
      const len = r.u8(`${area} option ${code} length`)
      const data = r.bytes(len, `${area} option ${code} data`)
      const parts = this.#parts.get(code)
      if (parts === undefined) this.#parts.set(code, [data])
      else parts.push(data)
    }
    return r.fail(`${area} has no End option (255)`)
  }

  /** Removes one option and returns its joined value: overload (52) must be known before file and sname are read. */
  take (code: number): Buffer | undefined {
    const parts = this.#parts.get(code)
    if (parts === undefined) return undefined
    this.#parts.delete(code)
    return Buffer.concat(parts)
  }

  /** Every option, its instances joined (a copy: no value aliases the datagram), in the order first seen. */
  finish (): DhcpOptions {
    const out: DhcpOptions = new Map()
    for (const [code, parts] of this.#parts) out.set(code, Buffer.concat(parts))
    return out
  }
}

/** Writes options, splitting values over 255 bytes into several instances (RFC 3396 §6), then End. */
export function encodeOptions (w: BufferWriter, options: ReadonlyMap<number, Uint8Array>): void {
  for (const [code, value] of options) {
    if (code === DhcpOption.Pad || code === DhcpOption.End) continue
    if (value.length === 0) {
      w.u8(code).u8(0)
      continue
    }
    for (let i = 0; i < value.length; i += 255) {
      const part = value.subarray(i, Math.min(i + 255, value.length))
      w.u8(code).u8(part.length).bytes(part)
    }
  }
  w.u8(DhcpOption.End)
}

/** Bytes that `encodeOptions` writes for these options, End included. */
export function encodedOptionsLength (options: ReadonlyMap<number, Uint8Array>): number {
  let n = 1
  for (const [code, value] of options) {
    if (code === DhcpOption.Pad || code === DhcpOption.End) continue
    n += value.length === 0 ? 2 : value.length + 2 * Math.ceil(value.length / 255)
  }
  return n
}

function expectLength (options: DhcpOptions, code: number, ok: (len: number) => boolean, what: string, offset: number): void {
  const v = options.get(code)
  if (v !== undefined && !ok(v.length)) {
    throw new MalformedPacketError(`option ${code} (${what}) has invalid length ${v.length}`, offset)
  }
}

/**
 * Rejects options whose length their RFC fixes, so the typed accessors below never see a
 * short value. `offset` is where the option area started (after concatenation the exact byte
 * is gone).
 */
export function validateKnownOptions (options: DhcpOptions, offset: number): void {
  const four = (n: number): boolean => n === 4
  const quads = (n: number): boolean => n >= 4 && n % 4 === 0
  expectLength(options, DhcpOption.MessageType, n => n === 1, 'message type, RFC 2132 §9.6', offset)
  expectLength(options, DhcpOption.SubnetMask, four, 'subnet mask', offset)
  expectLength(options, DhcpOption.Router, quads, 'router', offset)
  expectLength(options, DhcpOption.DomainServer, quads, 'DNS servers', offset)
  expectLength(options, DhcpOption.RequestedAddress, four, 'requested address, RFC 2132 §9.1', offset)
  expectLength(options, DhcpOption.LeaseTime, four, 'lease time, RFC 2132 §9.2', offset)
  expectLength(options, DhcpOption.ServerId, four, 'server identifier, RFC 2132 §9.7', offset)
  expectLength(options, DhcpOption.MaxMessageSize, n => n === 2, 'maximum message size, RFC 2132 §9.10', offset)
  expectLength(options, DhcpOption.ClientArch, n => n >= 2 && n % 2 === 0, 'client architecture, RFC 4578 §2.1', offset)
  expectLength(options, DhcpOption.ClientId, n => n >= 2, 'client identifier, RFC 2132 §9.14', offset)
}

function ipOption (options: DhcpOptions, code: number): string | undefined {
  const v = options.get(code)
  return v === undefined || v.length < 4 ? undefined : bytesToIpv4(v)
}

function textOption (options: DhcpOptions, code: number): string | undefined {
  const v = options.get(code)
  // NVT ASCII (RFC 2132 §2); firmwares sometimes add a trailing NUL.
  return v === undefined ? undefined : v.toString('latin1').replace(/\0+$/, '')
}

/** Option 53, or undefined for a plain BOOTP message. */
export function getMessageType (o: DhcpOptions): number | undefined {
  return o.get(DhcpOption.MessageType)?.[0]
}

/** Option 50, requested IP address (RFC 2132 §9.1). */
export function getRequestedAddress (o: DhcpOptions): string | undefined {
  return ipOption(o, DhcpOption.RequestedAddress)
}

/** Option 54, server identifier (RFC 2132 §9.7). */
export function getServerId (o: DhcpOptions): string | undefined {
  return ipOption(o, DhcpOption.ServerId)
}

/** Option 51 in seconds (RFC 2132 §9.2). */
export function getLeaseTime (o: DhcpOptions): number | undefined {
  const v = o.get(DhcpOption.LeaseTime)
  return v === undefined || v.length < 4 ? undefined : v.readUInt32BE(0)
}

/** Option 55, the codes the client asks for (RFC 2132 §9.8). */
export function getParameterList (o: DhcpOptions): number[] {
  return [...(o.get(DhcpOption.ParameterList) ?? [])]
}

/** Option 57 (RFC 2132 §9.10). */
export function getMaxMessageSize (o: DhcpOptions): number | undefined {
  const v = o.get(DhcpOption.MaxMessageSize)
  return v === undefined || v.length < 2 ? undefined : v.readUInt16BE(0)
}

/** Option 60, vendor class identifier, e.g. "PXEClient:Arch:00007:UNDI:003016". */
export function getVendorClass (o: DhcpOptions): string | undefined {
  return textOption(o, DhcpOption.VendorClass)
}

/** Option 12 (RFC 2132 §3.14). */
export function getHostname (o: DhcpOptions): string | undefined {
  return textOption(o, DhcpOption.Hostname)
}

/** Option 61 as lower-case hex (type byte included), the key RFC 2131 §4.2 gives leases. */
export function getClientId (o: DhcpOptions): string | undefined {
  return o.get(DhcpOption.ClientId)?.toString('hex')
}

/**
 * Option 77. RFC 3004 §4 frames each class as len|data, but iPXE (and other firmware) send one
 * bare string ("iPXE"); when the framing does not add up exactly we take the bytes as one class.
 */
export function getUserClasses (o: DhcpOptions): string[] {
  const v = o.get(DhcpOption.UserClass)
  if (v === undefined || v.length === 0) return []
  const out: string[] = []
  let i = 0
  while (i < v.length) {
    const len = v[i] as number
    if (len === 0 || i + 1 + len > v.length) return [v.toString('latin1')]
    out.push(v.subarray(i + 1, i + 1 + len).toString('latin1'))
    i += 1 + len
  }
  return out
}

/** Option 93, client system architecture types (RFC 4578 §2.1). */
export function getClientArches (o: DhcpOptions): number[] {
  const v = o.get(DhcpOption.ClientArch)
  const out: number[] = []
  if (v === undefined) return out
  for (let i = 0; i + 1 < v.length; i += 2) out.push(v.readUInt16BE(i))
  return out
}

/** Option 94, network interface identifier: type 1 = UNDI, with major.minor (RFC 4578 §2.2). */
export function getClientNdi (o: DhcpOptions): { type: number, major: number, minor: number } | undefined {
  const v = o.get(DhcpOption.ClientNdi)
  if (v === undefined || v.length !== 3) return undefined
  return { type: v[0] as number, major: v[1] as number, minor: v[2] as number }
}

/**
 * Option 97, client machine identifier (RFC 4578 §2.3): type 0 then the 16-byte SMBIOS UUID.
 * Captured from QEMU's iPXE and OVMF (test/fixtures/dhcp/README.md), both send the SMBIOS bytes
 * as stored: the first three fields little-endian (SMBIOS 2.6 §7.2.1). We swap them so the
 * text matches `-smbios uuid=`, iPXE's ${uuid} and Linux's product_uuid.
 */
export function getClientUuid (o: DhcpOptions): string | undefined {
  const v = o.get(DhcpOption.ClientMachineId)
  if (v === undefined || v.length !== 17 || v[0] !== 0) return undefined
  const b = v.subarray(1)
  const le = (from: number, to: number): string => Buffer.from(b.subarray(from, to)).reverse().toString('hex')
  const be = (from: number, to: number): string => b.subarray(from, to).toString('hex')
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${be(8, 10)}-${be(10, 16)}`
}

/** Option 82 raw (RFC 3046): we never interpret it, only echo it (§2.2). */
export function getRelayAgentInfo (o: DhcpOptions): Buffer | undefined {
  return o.get(DhcpOption.RelayAgentInfo)
}

/** True when the client sent iPXE's encapsulated option space (175). */
export function hasIpxeOptions (o: DhcpOptions): boolean {
  return o.has(DhcpOption.IpxeEncapsulated)
}

/**
 * Option 43 for PXE clients: sub-option 6, PXE_DISCOVERY_CONTROL = 8 (PXE 2.1 §2.4.2.2, bit 3:
 * "use the boot file name in the offer, do not run boot server discovery"), then End.
 */
export function pxeVendorOptions (): Buffer {
  return Buffer.from([6, 1, 8, 255])
}
