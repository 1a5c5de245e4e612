/**
 * A stand-in for the discovery agent, bundled by boot-assets/build-bootenv.sh (--agent-entry) into
 * a test-only initramfs: it proves the boot environment itself (network from init's udhcpc, the
 * disk, NIC and IPMI drivers, the SMBIOS tables, Node with the bundled gRPC libraries and the proto
 * beside it, ipmitool read through the real agent's BMC reader), POSTs what it sees as JSON to `anvil.standin.report=URL` and exits with
 * `anvil.standin.exit=N`, so the test can watch init act on the status. Never the real agent.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { networkInterfaces } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { readBmc } from '../../src/agent/inventory/bmc.ts'
import { SysTree } from '../../src/agent/sysfs.ts'

/** What the stand-in reports; test/e2e/discovery-bootenv.test.ts asserts on it. */
export type StandinReport = {
  readonly node: string
  readonly cmdline: string
  readonly addresses: Record<string, { readonly mac: string, readonly ipv4: readonly string[] }>
  readonly disks: ReadonlyArray<{ readonly name: string, readonly serial: string, readonly bytes: number }>
  readonly modules: readonly string[]
  readonly dmiTableBytes: number
  readonly productUuid: string
  readonly productSerial: string
  readonly ipmiDevice: boolean
  readonly grpcMethods: readonly string[]
  readonly resolvConf: string
  /** The real agent's BMC reader (ipmitool -I open lan print through /dev/ipmi0); null without a BMC. */
  readonly bmc: { readonly ip?: string, readonly mac?: string, readonly ipSource?: string } | null
  /** What that reader logged (why a field is empty, or which channel answered). */
  readonly bmcLog: readonly string[]
  /** How long that reader took, in ms (it runs ipmitool, in the boot environment under TCG). */
  readonly bmcMs: number
}

function read (file: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    return ''
  }
}

/** A block device's serial where each driver keeps it: virtio (serial), NVMe and SCSI (device/). */
function diskSerial (name: string): string {
  for (const f of ['serial', 'device/serial', 'device/vpd_pg80']) {
    // vpd_pg80 is binary: a 4-byte header, then the serial.
    const raw = read(join('/sys/block', name, f))
    if (raw !== '') return f.endsWith('vpd_pg80') ? raw.slice(4).replace(/[^\x20-\x7e]/g, '').trim() : raw
  }
  return ''
}

function collect (cmdline: string, bmc: Pick<StandinReport, 'bmc' | 'bmcLog' | 'bmcMs'>): StandinReport {
  const addresses: Record<string, { mac: string, ipv4: string[] }> = {}
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (name === 'lo') continue
    addresses[name] = { mac: read(`/sys/class/net/${name}/address`), ipv4: (list ?? []).filter(a => a.family === 'IPv4').map(a => a.address) }
  }
  // Interfaces without an address are absent from networkInterfaces(): take them from sysfs.
  for (const name of readdirSync('/sys/class/net')) {
    if (name !== 'lo' && addresses[name] === undefined) addresses[name] = { mac: read(`/sys/class/net/${name}/address`), ipv4: [] }
  }
  const disks = readdirSync('/sys/block')
    .filter(n => !/^(loop|ram|zram)/.test(n))
    .map(name => ({ name, serial: diskSerial(name), bytes: Number(read(`/sys/block/${name}/size`)) * 512 }))
  const proto = join(dirname(fileURLToPath(import.meta.url)), 'provisioning.proto')
  const definition = protoLoader.loadSync(proto, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true })
  const loaded = grpc.loadPackageDefinition(definition)
  const grpcMethods = Object.keys(definition).filter(k => !k.startsWith('google.') && typeof loaded === 'object')
  return {
    node: process.version,
    cmdline,
    addresses,
    disks,
    modules: read('/proc/modules').split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n !== ''),
    dmiTableBytes: existsSync('/sys/firmware/dmi/tables/DMI') ? readFileSync('/sys/firmware/dmi/tables/DMI').length : -1,
    productUuid: read('/sys/class/dmi/id/product_uuid'),
    productSerial: read('/sys/class/dmi/id/product_serial'),
    ipmiDevice: existsSync('/dev/ipmi0'),
    grpcMethods,
    resolvConf: read('/etc/resolv.conf'),
    ...bmc
  }
}

async function post (url: string, body: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, timeout: 10_000 }, res => {
      res.resume()
      res.on('end', resolve)
    })
    req.on('timeout', () => req.destroy(new Error('report timed out')))
    req.on('error', reject)
    req.end(body)
  })
}

async function main (): Promise<number> {
  const cmdline = read('/proc/cmdline')
  const arg = (key: string): string | undefined => cmdline.split(/\s+/).find(w => w.startsWith(`${key}=`))?.slice(key.length + 1)
  const url = arg('anvil.standin.report')
  const exit = Number(arg('anvil.standin.exit') ?? '0')
  console.log(`anvil-standin: node ${process.version}, reporting to ${url ?? '(nowhere)'}`)
  if (url !== undefined) {
    const bmcLog: string[] = []
    const started = performance.now()
    const found = await readBmc(new SysTree('/'), { log: (line) => { bmcLog.push(line); console.log(`anvil-standin: ${line}`) } })
    const bmc = { bmc: found ?? null, bmcLog, bmcMs: Math.round(performance.now() - started) }
    // Bounded retries: the report proves the route as well as the address.
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await post(url, JSON.stringify(collect(cmdline, bmc)))
        break
      } catch (err) {
        console.log(`anvil-standin: report failed (${(err as Error).message}), attempt ${attempt}`)
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
    }
  }
  console.log(`anvil-standin: exiting with ${exit}`)
  return exit
}

main().then(code => process.exit(code), (err: unknown) => {
  console.log(`anvil-standin: ${(err as Error).stack ?? String(err)}`)
  process.exit(1)
})
