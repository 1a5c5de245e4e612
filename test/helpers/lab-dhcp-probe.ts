// Probe for the flood test, run inside a client namespace on the lab bridge:
//   node --import tsx test/helpers/lab-dhcp-probe.ts SERVER_IP CLIENT_IP
// Sends a well-formed PXE DISCOVER (broadcast to port 67; the OFFER comes back to port 68) and a
// PXE boot-server REQUEST (unicast to SERVER_IP:4011; the ACK comes back to our port), each up to
// three times, and prints {"offer":bool,"ack":bool} on stdout.
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'
import { pxeBootRequest } from './lab-flood.ts'

const [server, client] = process.argv.slice(2)
if (server === undefined || client === undefined) {
  console.error('usage: lab-dhcp-probe.ts SERVER_IP CLIENT_IP')
  process.exit(2)
}

/** True when a BOOTREPLY with DHCP message type `want` (RFC 2132 §9.6) arrives within ms. */
async function replyOf (socket: Socket, want: number, ms: number): Promise<boolean> {
  const signal = AbortSignal.timeout(ms)
  try {
    for (;;) {
      const [msg] = await once(socket, 'message', { signal }) as [Buffer]
      if (msg[0] !== 2 || msg.length < 240) continue
      for (let at = 240; at + 1 < msg.length && msg[at] !== 255;) {
        if (msg[at] === 0) { at++; continue }
        if (msg[at] === 53 && msg[at + 2] === want) return true
        at += 2 + (msg[at + 1] ?? 0)
      }
    }
  } catch {
    return false
  }
}

async function probe (socket: Socket, packet: Buffer, port: number, to: string, want: number): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    socket.send(packet, port, to)
    if (await replyOf(socket, want, 2_000)) return true
  }
  return false
}

const s68 = createSocket({ type: 'udp4', reuseAddr: true })
await new Promise<void>(resolve => s68.bind(68, '0.0.0.0', resolve))
s68.setBroadcast(true)
const offer = await probe(s68, pxeBootRequest(1, 7), 67, '255.255.255.255', 2)
s68.close()

const s = createSocket('udp4')
await new Promise<void>(resolve => s.bind(0, client, resolve))
const ack = await probe(s, pxeBootRequest(3, 7, client), 4011, server, 5)
s.close()
console.log(JSON.stringify({ offer, ack }))
