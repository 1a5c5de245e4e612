import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'

/** Reads the host's interfaces: os.networkInterfaces() in the server, a fake in tests. */
export type InterfaceLookup = () => NodeJS.Dict<NetworkInterfaceInfo[]>

/**
 * The first IPv4 address of interface `name`, or undefined when it has none. libuv's
 * getifaddrs(3) wrapper leaves out interfaces that are not both up and running, so an interface
 * without carrier (a bridge whose ports are all down) has no address here either: both mean
 * "nothing to serve on yet".
 */
export function ipv4Of (name: string, lookup: InterfaceLookup = networkInterfaces): string | undefined {
  return lookup()[name]?.find(a => a.family === 'IPv4')?.address
}

/** An address that appeared, changed or went away (undefined: none). */
export type AddressChange = { readonly name: string, readonly previous: string | undefined, readonly current: string | undefined }

export type InterfaceWatchOptions = {
  readonly name: string
  readonly lookup?: InterfaceLookup
  /** How often the address is read again; 1 s by default. */
  readonly intervalMs?: number
}

/**
 * Follows the IPv4 address of one interface, so the DHCP server can start before its interface
 * has carrier or an address, begin serving when one appears and follow a change (what dnsmasq's
 * --bind-dynamic and Kea's socket retries do).
 *
 * Why polling: the kernel announces address and link changes on rtnetlink (RTMGRP_IPV4_IFADDR,
 * RTMGRP_LINK), which is what dnsmasq listens to, but Node has no AF_NETLINK sockets, so that
 * would take a native addon (or a child `ip monitor` process and a parser for its output).
 * One os.networkInterfaces() a second is a single getifaddrs(3) call, tens of microseconds, and
 * delays serving by at most a second after the address appears, well inside the 1–4 s that PXE
 * firmware waits before it resends a DISCOVER.
 */
export class InterfaceAddressWatch {
  readonly name: string
  readonly #lookup: InterfaceLookup
  readonly #intervalMs: number
  readonly #listeners = new Set<(change: AddressChange) => void>()
  #current: string | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (options: InterfaceWatchOptions) {
    this.name = options.name
    this.#lookup = options.lookup ?? networkInterfaces
    this.#intervalMs = options.intervalMs ?? 1000
    this.#current = ipv4Of(this.name, this.#lookup)
  }

  /** The address as last read (at construction or the last poll). */
  current (): string | undefined {
    return this.#current
  }

  /** Reads the address now; on a change, updates current() first, then tells every listener. */
  poll (): AddressChange | undefined {
    const next = ipv4Of(this.name, this.#lookup)
    if (next === this.#current) return undefined
    const change = { name: this.name, previous: this.#current, current: next }
    this.#current = next
    for (const fn of [...this.#listeners]) fn(change)
    return change
  }

  /** Calls `fn` on every change until the returned function is called. */
  onChange (fn: (change: AddressChange) => void): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** Polls every intervalMs (the timer never keeps the process alive) until stop(). */
  start (): void {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => { this.poll() }, this.#intervalMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}

const shared = new Map<string, { watch: InterfaceAddressWatch, users: number }>()

/**
 * The process's one watch of interface `name`, started on first use and stopped when every user
 * has released it. Sharing it means the DHCP server and the server address that the HTTP script
 * URLs use (src/bin/listen.ts) always see the same address at the same moment.
 */
export function acquireInterfaceWatch (name: string): { readonly watch: InterfaceAddressWatch, release (): void } {
  let entry = shared.get(name)
  if (entry === undefined) {
    entry = { watch: new InterfaceAddressWatch({ name }), users: 0 }
    shared.set(name, entry)
    entry.watch.start()
  }
  entry.users++
  const held = entry
  let released = false
  return {
    watch: held.watch,
    release: () => {
      if (released) return
      released = true
      if (--held.users > 0) return
      held.watch.stop()
      if (shared.get(name) === held) shared.delete(name)
    }
  }
}
