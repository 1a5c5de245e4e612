// Test support: a UDP peer for the integration tests, run inside a client namespace.
// argv[2]: JSON { bind: port, send: [{ hex, address, port }], expect: [xid...], timeoutMs }.
// Sends the datagrams in order, prints "REPLY {xid, from, port, hex}" per datagram received,
// exits 0 once every expected xid has been answered, 1 at the timeout.
import { createSocket } from 'node:dgram'

type Options = { bind: number, send: Array<{ hex: string, address: string, port: number }>, expect: number[], timeoutMs: number }

const o = JSON.parse(process.argv[2] ?? '{}') as Options
const waiting = new Set(o.expect)
const socket = createSocket({ type: 'udp4', reuseAddr: true })
socket.on('message', (data, rinfo) => {
  const xid = data.length >= 8 ? data.readUInt32BE(4) : -1
  process.stdout.write(`REPLY ${JSON.stringify({ xid, from: rinfo.address, port: rinfo.port, hex: data.toString('hex') })}\n`)
  waiting.delete(xid)
  if (waiting.size === 0) {
    socket.close()
    process.exit(0)
  }
})
socket.bind(o.bind, '0.0.0.0', () => {
  socket.setBroadcast(true)
  for (const d of o.send) socket.send(Buffer.from(d.hex, 'hex'), d.port, d.address)
})
setTimeout(() => {
  process.stderr.write(`no reply for xids ${[...waiting].join(', ')}\n`)
  process.exit(1)
}, o.timeoutMs).unref()
