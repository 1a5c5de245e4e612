// The benchmark's readers of perfdhcp and wrk output, on output captured from the real programs
// on this machine (perfdhcp 2.2.0 against kea-dhcp4 2.2.0 over the bench veth; wrk 4.1.0 against a
// local HTTP server). Run: node --import tsx --test bench/parse.test.ts
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parsePerfdhcp } from './dhcp.ts'
import { parseWrk } from './http.ts'
import { median, percentile, ratio } from './context.ts'

const PERFDHCP = `Running: perfdhcp -4 -l 10.99.0.2 -r 2000 -R 200 -p 5 10.99.0.1
Scenario: basic.
Multi-thread mode enabled.
***Rate statistics***
Rate: 1999.12 4-way exchanges/second, expected rate: 2000

***Malformed Packets***
Malformed packets: 0
***Statistics for: DISCOVER-OFFER***
sent packets: 9999
received packets: 9999
drops: 0
drops ratio: 0 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.024 ms
avg delay: 0.151 ms
max delay: 6.312 ms
std deviation: 0.195 ms
collected packets: 0

***Statistics for: REQUEST-ACK***
sent packets: 9999
received packets: 9998
drops: 1
drops ratio: 0.010 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.039 ms
avg delay: 0.137 ms
max delay: 6.563 ms
std deviation: 0.102 ms
collected packets: 0
`

const WRK_OK = `Running 1s test @ http://127.0.0.1:18999/w1
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.58ms    1.17ms  12.32ms   75.51%
    Req/Sec   748.82     53.02   830.00     72.73%
  821 requests in 1.10s, 821.16MB read
Requests/sec:    746.53
Transfer/sec:    746.67MB
`

const WRK_404 = `Running 1s test @ http://127.0.0.1:18999/nope
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.48ms  640.59us   6.05ms   76.63%
    Req/Sec     1.29k    79.83     1.39k    70.00%
  1290 requests in 1.00s, 655.26KB read
  Non-2xx or 3xx responses: 1290
Requests/sec:   1288.07
Transfer/sec:    654.28KB
`

test('perfdhcp: both exchanges with counters and average delays', () => {
  const p = parsePerfdhcp(PERFDHCP)
  assert.deepEqual(p, {
    discover: { sent: 9999, received: 9999, drops: 0, avgMs: 0.151 },
    request: { sent: 9999, received: 9998, drops: 1, avgMs: 0.137 }
  })
})

test('perfdhcp: output without the statistics blocks (a failed run) is not a result', () => {
  assert.equal(parsePerfdhcp('Error running perfdhcp: Failed to bind socket 3 to 10.99.0.2/port=67'), undefined)
  assert.equal(parsePerfdhcp(PERFDHCP.slice(0, PERFDHCP.indexOf('***Statistics for: REQUEST-ACK'))), undefined)
})

test('wrk: Transfer/sec in binary units becomes MB/s (10^6), errors are reported', () => {
  const ok = parseWrk(WRK_OK)
  assert.equal(ok.errors, undefined)
  assert.ok(Math.abs(ok.mbps - 746.67 * 2 ** 20 / 1e6) < 1e-9)
  const bad = parseWrk(WRK_404)
  assert.equal(bad.errors, 'Non-2xx or 3xx responses: 1290')
  assert.ok(Math.abs(bad.mbps - 654.28 * 2 ** 10 / 1e6) < 1e-9)
  assert.ok(Number.isNaN(parseWrk('unable to connect to 10.99.0.1:8080 Connection refused').mbps))
})

test('median and ratio', () => {
  assert.equal(median([3, 1, 2]), 2)
  assert.equal(median([4, 1, 3, 2]), 2.5)
  assert.ok(Number.isNaN(median([])))
  assert.equal(ratio(3, 2), '1.50×')
  assert.equal(ratio(3, 0), '–')
  assert.equal(ratio(NaN, 2), '–')
})

test('percentile: nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1)
  assert.equal(percentile(xs, 50), 50)
  assert.equal(percentile(xs, 99), 99)
  assert.equal(percentile(xs, 100), 100)
  assert.equal(percentile([7], 99), 7)
  assert.ok(Number.isNaN(percentile([], 50)))
})
