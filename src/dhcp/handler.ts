import { MalformedPacketError } from '../lib/errors.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { BootOp, clientMac, decodeDhcpPacket, type DhcpMessage } from './packet.ts'
import { MessageType, getClientId, getHostname, getRequestedAddress, getServerId, messageTypeName } from './options.ts'
import { ClientKind, archName, classifyClient, decideBoot, type BootChoices, type BootDecision, type ClientInfo } from './pxe.ts'
import { buildReply, encodeReply, replyDestination, type BootParams, type Destination, type ReplySpec } from './reply.ts'
import type { EngineResult, LeaseEngine } from './lease-engine.ts'
import type { Lease } from './lease-store.ts'
import type { BootPlan } from '../provisioning/boot-planner.ts'

/** A datagram as the socket layer hands it over. */
export type Incoming = {
  readonly data: Buffer
  readonly from: { readonly address: string, readonly port: number }
  /** Arrived on the PXE boot server port (4011) rather than 67. */
  readonly proxyPort: boolean
}

/** What happened to one datagram; the server counts outcomes and sends replies. */
export type HandleResult =
  | { readonly outcome: 'malformed', readonly error: MalformedPacketError }
  | { readonly outcome: 'ignored', readonly reason: string }
  /** Understood and acted on, but the protocol wants no answer (RELEASE, DECLINE, another server chosen). */
  | { readonly outcome: 'silent', readonly reason: string }
  | { readonly outcome: 'replied', readonly reply: Buffer, readonly to: Destination, readonly type: number }

export type DhcpHandlerOptions = {
  readonly mode: 'proxy' | 'authoritative'
  /** Our address: option 54 and siaddr (next server). */
  readonly serverId: string
  readonly clientPort: number
  readonly serverPort: number
  readonly boot: Omit<BootChoices, 'arm64Available'>
  /** Whether a boot asset exists; asked only for arm64 clients. */
  readonly assetExists: (name: string) => Promise<boolean>
  readonly events: BootEventSink
  /**
   * The boot planner (src/provisioning/boot-planner.ts) for the machine holding this MAC, if the
   * inventory knows it: a machine whose plan is its local disk is offered no boot file, so its
   * firmware moves on to the disk at once instead of running a script that says `exit`.
   */
  readonly plan?: ((mac: string) => Promise<BootPlan | undefined>) | undefined
  /** Authoritative mode: the engine and the durable commit that precedes every ACK. */
  readonly engine?: LeaseEngine | undefined
  readonly commit?: ((leases: readonly Lease[]) => Promise<void>) | undefined
}

type Context = { readonly msg: DhcpMessage, readonly mac: string, readonly type: number, readonly client: ClientInfo, readonly in: Incoming }

/**
 * receive → decode → classify → decide → reply, with no socket code. Timeline events are
 * recorded only for network-boot clients (PXE, UEFI HTTP, iPXE): an OS DHCP client is not a
 * machine being provisioned and would flood the timeline.
 */
export class DhcpHandler {
  readonly #o: DhcpHandlerOptions

  constructor (options: DhcpHandlerOptions) {
    if (options.mode === 'authoritative' && (options.engine === undefined || options.commit === undefined)) {
      throw new TypeError('authoritative mode needs a lease engine and a commit function')
    }
    this.#o = options
  }

  /** Handles one datagram. Rejects only on a failed lease commit (no ACK is sent then). */
  async handle (incoming: Incoming): Promise<HandleResult> {
    let msg: DhcpMessage
    try {
      msg = decodeDhcpPacket(incoming.data)
    } catch (err) {
      if (err instanceof MalformedPacketError) return { outcome: 'malformed', error: err }
      throw err
    }
    if (msg.op !== BootOp.Request) return { outcome: 'ignored', reason: 'not a BOOTREQUEST' }
    const mac = clientMac(msg)
    if (mac === undefined) return { outcome: 'ignored', reason: `hardware type ${msg.htype}/${msg.hlen} is not Ethernet` }
    const type = msg.options.get(53)?.[0]
    if (type === undefined) return { outcome: 'ignored', reason: 'BOOTP request without a DHCP message type' }
    const ctx: Context = { msg, mac, type, client: classifyClient(msg.options), in: incoming }
    return this.#o.mode === 'proxy' ? await this.#proxy(ctx) : await this.#authoritative(ctx)
  }

  async #decide (client: ClientInfo, mac: string): Promise<BootDecision> {
    const arm = client.arch === 11 || client.arch === 19
    const arm64Available = arm ? await this.#o.assetExists(this.#o.boot.efiArm64BootFile) : false
    const decision = decideBoot(client, { ...this.#o.boot, arm64Available })
    if (decision.action !== 'boot' || this.#o.plan === undefined) return decision
    const plan = await this.#o.plan(mac)
    if (plan?.kind !== 'local-disk') return decision
    return { action: 'decline', reason: `${plan.message}: no boot file offered, so its firmware goes on to its next boot device` }
  }

  async #proxy (ctx: Context): Promise<HandleResult> {
    if (!ctx.in.proxyPort && ctx.type === MessageType.Request && ctx.client.kind !== ClientKind.None) return this.#observeSiteRequest(ctx)
    // PXE 2.1 §2.2: DISCOVER arrives on 67, the boot server REQUEST on 4011; the rest is not ours.
    const expected = ctx.in.proxyPort ? MessageType.Request : MessageType.Discover
    if (ctx.type !== expected) return { outcome: 'ignored', reason: `proxy mode ignores ${messageTypeName(ctx.type)} on port ${ctx.in.proxyPort ? '4011' : '67'}` }
    if (ctx.client.kind === ClientKind.None) return { outcome: 'ignored', reason: 'not a network-boot client' }
    const decision = await this.#decide(ctx.client, ctx.mac)
    if (decision.action === 'decline') return this.#ignoredEvent(ctx, decision.reason)
    const replyType = ctx.in.proxyPort ? MessageType.Ack : MessageType.Offer
    const result = this.#reply(ctx, { type: replyType, serverId: this.#o.serverId, boot: this.#bootParams(decision) })
    if (ctx.in.proxyPort) {
      const ip = ctx.msg.ciaddr !== '0.0.0.0' ? ctx.msg.ciaddr : ctx.in.from.address
      if (ip !== '0.0.0.0') this.#o.events.noteAddress(ctx.mac, ip)
    }
    this.#event(ctx, replyType, `${replyType === MessageType.Ack ? 'acknowledged' : 'offered'} ${decision.bootFile} to ${ctx.mac}: ${decision.reason}, proxy mode`, decision, undefined)
    return result
  }

  /**
   * A network-boot client's broadcast REQUEST to the site's DHCP server. When our proxy offer
   * already names the boot file, iPXE and OVMF never come to 4011 (measured in the lab), so this
   * is where proxy mode learns the client's address: a later TFTP or HTTP step by IP then finds
   * its machine. We answer nothing; the address is the site server's to give.
   */
  #observeSiteRequest (ctx: Context): HandleResult {
    const ip = getRequestedAddress(ctx.msg.options) ?? (ctx.msg.ciaddr !== '0.0.0.0' ? ctx.msg.ciaddr : undefined)
    if (ip === undefined) return { outcome: 'ignored', reason: 'proxy mode: a REQUEST without an address to learn' }
    this.#o.events.noteAddress(ctx.mac, ip)
    const site = getServerId(ctx.msg.options)
    this.#o.events.record({
      source: 'dhcp',
      type: 'dhcp.observed',
      mac: ctx.mac,
      ip,
      message: `${ctx.mac} is taking ${ip} from the site DHCP server${site === undefined ? '' : ` ${site}`}; Anvil (proxy mode) supplies only the boot file`,
      data: { xid: ctx.msg.xid, address: ip, siteServer: site ?? null, mode: 'proxy' }
    })
    return { outcome: 'ignored', reason: 'proxy mode: the site DHCP server answers REQUESTs; address noted' }
  }

  async #authoritative (ctx: Context): Promise<HandleResult> {
    const engine = this.#o.engine as LeaseEngine
    const { msg } = ctx
    const client = { mac: ctx.mac, clientId: getClientId(msg.options), hostname: getHostname(msg.options) }
    const facts = { giaddr: msg.giaddr, ciaddr: msg.ciaddr, requested: getRequestedAddress(msg.options), serverId: getServerId(msg.options) }
    let r: EngineResult
    switch (ctx.type) {
      case MessageType.Discover: r = engine.discover(client, facts); break
      case MessageType.Request: r = engine.request(client, facts); break
      case MessageType.Release: r = engine.release(client, facts); break
      case MessageType.Decline: r = engine.decline(client, facts); break
      case MessageType.Inform: r = engine.inform(client, facts); break
      default: return { outcome: 'ignored', reason: `${messageTypeName(ctx.type)} is not a client message` }
    }
    switch (r.kind) {
      case 'silent':
        if (r.persist.length > 0) await (this.#o.commit as (l: readonly Lease[]) => Promise<void>)(r.persist)
        if (ctx.client.kind !== ClientKind.None) this.#ignoredEvent(ctx, r.reason)
        return { outcome: 'silent', reason: r.reason }
      case 'nak': {
        const result = this.#reply(ctx, { type: MessageType.Nak, serverId: this.#o.serverId, message: r.reason })
        this.#event(ctx, MessageType.Nak, `refused ${ctx.mac}: ${r.reason}`, undefined, undefined)
        return result
      }
      case 'inform':
        return this.#reply(ctx, { type: MessageType.Ack, serverId: this.#o.serverId, inform: r.subnet.network })
      case 'offer':
      case 'ack':
        return await this.#lease(ctx, r)
    }
  }

  async #lease (ctx: Context, r: Extract<EngineResult, { kind: 'offer' | 'ack' }>): Promise<HandleResult> {
    // Durable before the ACK (issue 2): the commit batches with others from this tick.
    if (r.persist.length > 0) await (this.#o.commit as (l: readonly Lease[]) => Promise<void>)(r.persist)
    const type = r.kind === 'offer' ? MessageType.Offer : MessageType.Ack
    const netboot = ctx.client.kind !== ClientKind.None
    const decision = netboot ? await this.#decide(ctx.client, ctx.mac) : undefined
    const boot = decision?.action === 'boot' ? this.#bootParams(decision) : undefined
    const result = this.#reply(ctx, { type, serverId: this.#o.serverId, lease: { ...r.subnet.network, yiaddr: r.address, leaseTimeSec: r.leaseTimeSec }, boot })
    if (decision !== undefined) {
      if (type === MessageType.Ack) this.#o.events.noteAddress(ctx.mac, r.address)
      const verb = type === MessageType.Ack ? 'acknowledged' : 'offered'
      const what = decision.action === 'boot' ? `${decision.bootFile} and ${r.address}` : `${r.address} without a boot file`
      this.#event(ctx, type, `${verb} ${what} to ${ctx.mac}: ${decision.reason}; ${r.reason}, authoritative mode`, decision, r.address)
    }
    return result
  }

  #bootParams (d: Extract<BootDecision, { action: 'boot' }>): BootParams {
    return { bootFile: d.bootFile, vendorClass: d.vendorClass, nextServer: this.#o.serverId }
  }

  #reply (ctx: Context, spec: ReplySpec): HandleResult {
    const reply = buildReply(ctx.msg, spec)
    const to = replyDestination(ctx.msg, spec.type, {
      from: ctx.in.from, proxyPort: ctx.in.proxyPort, clientPort: this.#o.clientPort, serverPort: this.#o.serverPort
    })
    return { outcome: 'replied', reply: encodeReply(reply, ctx.msg), to, type: spec.type }
  }

  #ignoredEvent (ctx: Context, reason: string): HandleResult {
    this.#o.events.record({
      source: 'dhcp',
      type: 'dhcp.ignored',
      mac: ctx.mac,
      message: `ignored ${messageTypeName(ctx.type)} from ${ctx.mac}: ${reason}`,
      data: this.#data(ctx, undefined, undefined)
    })
    return { outcome: 'ignored', reason }
  }

  #event (ctx: Context, type: number, message: string, d: BootDecision | undefined, yiaddr: string | undefined): void {
    if (ctx.client.kind === ClientKind.None) return
    const name = type === MessageType.Offer ? 'dhcp.offer' : type === MessageType.Ack ? 'dhcp.ack' : 'dhcp.nak'
    this.#o.events.record({ source: 'dhcp', type: name, mac: ctx.mac, message, data: this.#data(ctx, d, yiaddr) })
  }

  #data (ctx: Context, d: BootDecision | undefined, yiaddr: string | undefined): Record<string, unknown> {
    const c = ctx.client
    return {
      xid: ctx.msg.xid,
      message: messageTypeName(ctx.type),
      kind: c.kind,
      arch: c.arch ?? null,
      archName: archName(c.arch),
      vendorClass: c.vendorClass ?? null,
      userClass: c.userClasses.length > 0 ? c.userClasses.join(',') : null,
      uuid: c.uuid ?? null,
      bootFile: d?.action === 'boot' ? d.bootFile : null,
      yiaddr: yiaddr ?? null,
      giaddr: ctx.msg.giaddr === '0.0.0.0' ? null : ctx.msg.giaddr,
      mode: this.#o.mode
    }
  }
}
