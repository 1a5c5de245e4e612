// Sender for the flood test, run inside a client namespace on the lab bridge:
//   node --import tsx test/helpers/lab-flood-send.ts FLOOD_FILE TARGET_IP
// Sends every datagram of FLOOD_FILE (lab-flood.ts encodeFlood) to TARGET_IP:port, or to
// 255.255.255.255:port when marked broadcast; paces itself in small batches so the flood measures
// the server's robustness rather than our socket buffer; prints a JSON summary on stdout.
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import { decodeFlood } from './lab-flood.ts'

const [file, target] = process.argv.slice(2)
if (file === undefined || target === undefined) {
  console.error('usage: lab-flood-send.ts FLOOD_FILE TARGET_IP')
  process.exit(2)
}
const datagrams = decodeFlood(readFileSync(file))
const socket = createSocket('udp4')
await new Promise<void>(resolve => socket.bind(0, '0.0.0.0', resolve))
socket.setBroadcast(true)
let sent = 0
let failed = 0
const perPort: Record<number, number> = {}
const started = Date.now()
for (let i = 0; i < datagrams.length; i++) {
  const d = datagrams[i]
  if (d === undefined) continue
  try {
    await new Promise<void>((resolve, reject) => {
      socket.send(d.payload, d.port, d.broadcast ? '255.255.255.255' : target, err => { if (err) reject(err); else resolve() })
    })
    sent++
    perPort[d.port] = (perPort[d.port] ?? 0) + 1
  } catch {
    failed++
  }
  if (i % 50 === 49) await delay(2)
}
socket.close()
console.log(JSON.stringify({ sent, failed, perPort, ms: Date.now() - started }))
