import { isIP } from 'node:net'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { Semaphore } from '../lib/concurrency.ts'
import type { MachineView } from '../http/api-types.ts'
import type { ApiClient } from './client.ts'

/** apid's port (issue 11). */
export const NODE_API_PORT = 50000

/** Where a node's API is: an IP literal or a host name, and a port. */
export type NodeAddress = { readonly host: string, readonly port: number }

/** Bounds on `-n`: an operator's list, not a fleet dump (a fleet goes through Anvil's API). */
export const MAX_TARGETS = 256
const MAX_TARGET_LENGTH = 253

/** `-n a,b -n c` → [a, b, c]: trimmed, empties dropped, duplicates once, in the order given. */
export function splitTargets (values: readonly string[]): string[] {
  const out = [...new Set(values.flatMap(v => v.split(',')).map(v => v.trim()).filter(v => v !== ''))]
  if (out.length > MAX_TARGETS) throw new CodedError('ERR_USAGE', `at most ${MAX_TARGETS} nodes per command (got ${out.length})`)
  const long = out.find(v => v.length > MAX_TARGET_LENGTH)
  if (long !== undefined) throw new CodedError('ERR_USAGE', `a node name is at most ${MAX_TARGET_LENGTH} characters`)
  return out
}

function port (text: string, whole: string): number {
  const n = Number(text)
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) throw new CodedError('ERR_USAGE', `${JSON.stringify(whole)}: the port must be 1 to 65535`)
  return n
}

/**
 * An address typed on the command line, or undefined when `text` is not one (then it names a
 * machine). Forms: `10.0.0.1`, `10.0.0.1:50001`, `fd00::1`, `[fd00::1]`, `[fd00::1]:50001`. A MAC
 * (`52:54:00:…`) is not an address: it is a machine key.
 */
export function parseNodeAddress (text: string, defaultPort: number = NODE_API_PORT): NodeAddress | undefined {
  if (isIP(text) !== 0) return { host: text, port: defaultPort }
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text)
  if (bracketed !== null) {
    const [, host = '', p] = bracketed
    if (isIP(host) !== 6) return undefined
    return { host, port: p === undefined ? defaultPort : port(p, text) }
  }
  const colon = text.lastIndexOf(':')
  if (colon > 0 && isIP(text.slice(0, colon)) === 4) return { host: text.slice(0, colon), port: port(text.slice(colon + 1), text) }
  return undefined
}

/** RFC 1123 host names (labels of letters, digits and hyphens), as a context endpoint may be. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** A context's `--endpoint HOST[:PORT]`: an address or a host name; port 50000 by default. */
export function parseEndpoint (text: string): NodeAddress {
  const address = parseNodeAddress(text)
  if (address !== undefined) return address
  const colon = text.lastIndexOf(':')
  const host = colon === -1 ? text : text.slice(0, colon)
  if (!HOST_NAME.test(host)) throw new CodedError('ERR_USAGE', `${JSON.stringify(text)} is not HOST[:PORT] (an IPv4 or IPv6 address, or a host name; IPv6 with a port as [ADDR]:PORT)`)
  return { host, port: colon === -1 ? NODE_API_PORT : port(text.slice(colon + 1), text) }
}

/** `host:port`, IPv6 in brackets: a grpc-js target and what the CLI shows. */
export function formatAddress (a: NodeAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

/**
 * The address to dial from a machine's view: the first of the node's reported addresses
 * (`install.node.addresses`, CIDR strings) that is not IPv6 link-local: such an address needs a
 * zone (the interface) that only a host on the node's own link knows.
 */
export function nodeAddressOf (view: MachineView): string | undefined {
  for (const cidr of view.install?.node?.addresses ?? []) {
    const ip = cidr.split('/')[0] ?? ''
    const family = isIP(ip)
    if (family === 0 || (family === 6 && /^fe[89ab]/i.test(ip))) continue
    return ip
  }
  return undefined
}

/**
 * Resolves machine ids and names through Anvil's admin API. A key the API knows (id, MAC, UUID,
 * serial) is one request; otherwise it is taken as the node's host name, matched against every
 * provisioned machine's report (listed once per command, 8 requests at a time).
 */
export class NodeResolver {
  readonly #client: () => ApiClient
  readonly #port: number
  #byHostname: Promise<Map<string, MachineView[]>> | undefined

  /** `port`: where a resolved machine's apid listens (50000; tests pass their server's). */
  constructor (client: () => ApiClient, options: { port?: number } = {}) {
    this.#client = client
    this.#port = options.port ?? NODE_API_PORT
  }

  /** An address to dial for a `-n` value; CodedError when it names no reachable node. */
  async resolve (target: string): Promise<NodeAddress> {
    const address = parseNodeAddress(target)
    if (address !== undefined) return address
    const view = await this.#machine(target)
    const ip = nodeAddressOf(view)
    if (ip === undefined) {
      throw new CodedError('ERR_NODE_UNREACHABLE', `machine ${view.id} has reported no node address yet (a node reports its addresses once it runs from its disk)`, { machineId: view.id })
    }
    return { host: ip, port: this.#port }
  }

  async #machine (key: string): Promise<MachineView> {
    try {
      return await this.#client().get<MachineView>(`/api/v1/machines/${encodeURIComponent(key)}`)
    } catch (err) {
      if (!isCodedError(err) || err.code !== 'ERR_MACHINE_NOT_FOUND') throw err
    }
    const matches = (await (this.#byHostname ??= this.#hostnames())).get(key.toLowerCase()) ?? []
    if (matches.length > 1) throw new CodedError('ERR_AMBIGUOUS_MACHINE', `${JSON.stringify(key)} is the host name of ${matches.length} machines; use a machine id`, { ids: matches.map(m => m.id) })
    const [match] = matches
    if (match === undefined) throw new CodedError('ERR_MACHINE_NOT_FOUND', `no machine ${JSON.stringify(key)} (by id, MAC, UUID, serial or node host name)`, { id: key })
    return match
  }

  async #hostnames (): Promise<Map<string, MachineView[]>> {
    const client = this.#client()
    const { items } = await client.get<{ items: MachineView[] }>('/api/v1/machines?state=provisioned')
    const gate = new Semaphore(8)
    const views = await Promise.all(items.map(async m => await gate.run(async () => await client.get<MachineView>(`/api/v1/machines/${encodeURIComponent(m.id)}`))))
    const map = new Map<string, MachineView[]>()
    for (const v of views) {
      const name = v.install?.node?.hostname?.toLowerCase()
      if (name !== undefined && name !== '') map.set(name, [...(map.get(name) ?? []), v])
    }
    return map
  }
}
