import { networkInterfaces } from 'node:os'
import type { FastifyInstance } from 'fastify'
import type { Service } from '../lib/service.ts'
import { acquireInterfaceWatch } from '../dhcp/interface-watch.ts'

/** "IP:port" to its parts (validated by the config schema already). */
export function splitListen (listen: string): { host: string, port: number } {
  const i = listen.lastIndexOf(':')
  return { host: listen.slice(0, i), port: Number(listen.slice(i + 1)) }
}

/**
 * The address machines use to reach us, when the config does not say: the IPv4 address of
 * dhcp.interface if named, else of the first non-loopback interface, else 127.0.0.1.
 *
 * With an interface named, `address` is a getter that follows that interface (the process's
 * shared watch, the same one the DHCP server serves from): it may have no carrier or address at
 * start and get one later, or change. Until it has one, `address` is `fallback` (127.0.0.1).
 */
export function detectServerAddress (iface: string | undefined, fallback = '127.0.0.1'): { readonly address: string, readonly how: string } {
  if (iface !== undefined) {
    const { watch } = acquireInterfaceWatch(iface)
    const now = watch.current()
    return {
      get address () { return watch.current() ?? fallback },
      how: now === undefined
        ? `${iface} has no IPv4 address yet (no carrier, or none configured): ${fallback} until it has one, then its address`
        : `the IPv4 address of ${iface} (followed when it changes)`
    }
  }
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const v4 = (addrs ?? []).find(a => a.family === 'IPv4' && !a.internal)
    if (v4 !== undefined) return { address: v4.address, how: `the IPv4 address of ${name}` }
  }
  return { address: fallback, how: 'no network interface has an IPv4 address; using loopback' }
}

/** Explains a bind failure in terms of the config key the operator can change. */
export function bindErrorMessage (err: unknown, what: string, key: string, listen: string): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EACCES') {
    return `cannot listen on ${listen} for ${what}: ports below 1024 need root (or CAP_NET_BIND_SERVICE). Run as root, or set ${key} to a port above 1023; the other services keep running`
  }
  if (code === 'EADDRINUSE') return `cannot listen on ${listen} for ${what}: the address is in use by another program. Stop it, or change ${key}; the other services keep running`
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${listen} for ${what}: no interface has that address. Change ${key}; the other services keep running`
  return `cannot listen on ${listen} for ${what} (${key}): ${(err as Error).message}`
}

/** A fastify app as a Service on "IP:port". */
export function fastifyService (name: string, app: FastifyInstance, listen: string): Service & { port: () => number } {
  const { host, port } = splitListen(listen)
  let bound = port
  return {
    name,
    port: () => bound,
    async start () {
      await app.listen({ host, port })
      const addr = app.server.address()
      if (addr !== null && typeof addr === 'object') bound = addr.port
    },
    async stop () {
      await app.close()
    }
  }
}
