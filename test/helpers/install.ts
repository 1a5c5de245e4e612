import { randomBytes } from 'node:crypto'
import { configSchema } from '../../src/config/schema.ts'
import { SqliteBmcStore } from '../../src/db/bmc-store.ts'
import { SqliteConfigStore } from '../../src/db/config-store.ts'
import { SqliteImageStore } from '../../src/db/image-store.ts'
import { SqliteNodeTokens } from '../../src/db/node-tokens.ts'
import { CHUNK_SIZE, encodeManifest } from '../../src/image/manifest.ts'
import { SecretBox } from '../../src/lib/secret-box.ts'
import { BmcRegistry } from '../../src/power/bmc-registry.ts'
import { PowerService } from '../../src/power/power-service.ts'
import type { HardwareReport, OpenedStream } from '../../src/provisioning/agent-gateway.ts'
import { InstallTasks } from '../../src/provisioning/install-tasks.ts'
import { ProvisionService } from '../../src/provisioning/provision-service.ts'
import { signManifest } from '../../src/signing/manifest-signature.ts'
import { generateSecretKey } from '../../src/signing/minisign.ts'
import { makeInventory, makeProvisioning } from './inventory.ts'
import { ScriptedBmc } from './scripted-bmc.ts'

export const GiB = 2 ** 30
export const MAC = '52:54:00:77:00:11'
export const PEER = '10.77.0.100'
export const BASE_URL = 'http://10.77.0.1:8080'
/** A distinctive value of the config: it must never be found in the database file. */
export const HOSTNAME = 'node-sealed-7f3a9c.lab.example'

/** A machine config that installs to the disk with serial `serial`. */
export function configYaml (serial = 'D1', extra = ''): string {
  return [
    'version: v1alpha1',
    'kind: MachineConfig',
    `hostname: ${HOSTNAME}`,
    'install:',
    '  disk:',
    `    serial: ${serial}`,
    'network:',
    '  interfaces:',
    `    - mac: "${MAC}"`,
    '      dhcp: true',
    extra,
    ''
  ].join('\n')
}

const GUID = '00000000-0000-4000-8000-000000000001'.toUpperCase()

/** A signed manifest of an image whose disk layout needs `minDiskBytes`. */
export function manifestBytes (name: string, version: string, minDiskBytes = 16 * GiB): Buffer {
  const size = 8 * 1024 * 1024
  return encodeManifest({
    schema: 'anvil.dev/image/v1',
    name,
    version,
    arch: 'x86_64',
    created: '2026-12-01T00:00:00Z',
    securityVersion: 1,
    artifact: { file: `${name}-${version}.raw.zst`, compression: 'zstd', size, sha256: 'a'.repeat(64), chunkSize: CHUNK_SIZE, chunks: ['b'.repeat(64), 'c'.repeat(64)], compressedSize: 1000, compressedSha256: 'd'.repeat(64), frames: [900, 100] },
    layout: { sectorSize: 512, minDiskBytes, diskGuid: GUID, partitions: [{ number: 1, name: 'ANVIL-A', typeGuid: GUID, partGuid: GUID, firstLba: 2048, lastLba: 4095 }], tables: { primary: { offset: 0, length: 17408 }, backup: { offset: size - 16896, length: 16896 } } },
    grubenv: { partition: 'ANVIL-A', offset: 2048 * 512, size: 1024 },
    slots: { A: 'ANVIL-A', B: 'ANVIL-A' }
  })
}

/** vda and vdb (64 GiB virtio, serials D1 and D2) and a small USB stick. */
export function hardware (): HardwareReport {
  const disk = (name: string, serial: string, sizeBytes: number, transport: string) => ({ name, sizeBytes, model: 'QEMU HARDDISK', serial, wwn: '', rotational: false, removable: false, transport, byId: [], partitionTable: '', signatures: [], readOnly: false, logicalBlockSize: 512, discard: false })
  return {
    system: { uuid: '', serial: 'LAB0001', manufacturer: 'Anvil Lab', product: 'VM', sku: '', family: '', version: '' },
    baseboard: null,
    bios: null,
    chassis: null,
    cpu: null,
    memory: null,
    disks: [disk('vda', 'D1', 64 * GiB, 'virtio'), disk('vdb', 'D2', 64 * GiB, 'virtio'), disk('sda', 'USB1', 8 * GiB, 'usb')],
    nics: [{ name: 'eth0', mac: MAC, driver: 'virtio_net', speedMbps: 0, link: true, pciAddress: '0000:00:03.0' }],
    pci: [],
    bmc: null,
    kernel: '6.1.0'
  }
}

/**
 * The whole install over one database: inventory, provisioning with InstallTasks wired into the
 * agents, ProvisionService, an image catalogue, a BMC (scripted) behind the real power policy.
 */
export function makeInstallWorld (file = ':memory:') {
  const inv = makeInventory(file)
  const imageKey = generateSecretKey()
  const configKey = generateSecretKey()
  const secrets = new SecretBox(randomBytes(32))
  const images = new SqliteImageStore(inv.db)
  const configs = new SqliteConfigStore(inv.db)
  const bmc = new ScriptedBmc()
  const registry = new BmcRegistry({ machines: inv.machines, store: new SqliteBmcStore(inv.db), secrets, events: inv.timeline, clock: inv.clock })
  const power = new PowerService({ registry, client: bmc, events: inv.timeline, clock: inv.clock, config: configSchema.parse({ power: { powerOnStagger: 0 } }).power, sleep: async (ms) => { inv.clock.advance(ms) }, onAction: async (machineId, action) => { await prov.agents.machinePowerChanged(machineId, action) } })
  let installs: InstallTasks | undefined
  const prov = makeProvisioning(inv, {
    install: (lifecycle) => {
      installs = new InstallTasks({
        lifecycle,
        images,
        configs,
        tokens: new SqliteNodeTokens(inv.db),
        secrets,
        configKey: configKey.publicKey,
        imageKeys: () => [imageKey.publicKey],
        baseUrl: () => BASE_URL,
        events: inv.timeline,
        clock: inv.clock,
        // As src/bin/server.ts wires it: boot device disk, then a power cycle; else an in-band reboot.
        bootFromDisk: async (machineId) => {
          if (await registry.view(machineId) === undefined) return undefined
          await power.setBootDevice(machineId, { device: 'disk', persistent: true, efi: false })
          await power.act(machineId, 'cycle')
          return 'boot device set to disk and power-cycled'
        },
        rebootInBand: async (machineId) => { await discovery().queueAgentTask(machineId, 'reboot', 'queued by Anvil: the install is written, and no BMC booted the machine from its disk') }
      })
      return installs
    }
  })
  if (installs === undefined) throw new Error('unreachable')
  function discovery (): typeof prov.discovery { return prov.discovery }
  const provision = new ProvisionService({ machines: inv.machines, lifecycle: prov.lifecycle, agents: prov.agents, hardware: prov.store, images, configs, secrets, configKey, events: inv.timeline, clock: inv.clock })

  /** Imports a signed image, ready unless `pending`. */
  const addImage = async (name: string, version: string, options: { pending?: boolean, minDiskBytes?: number } = {}): Promise<void> => {
    const manifest = manifestBytes(name, version, options.minDiskBytes)
    await images.insert({ name, version, manifest: manifest.toString('utf8'), signature: signManifest(manifest, imageKey, { name, version }), keyId: imageKey.keyId, state: 'pending', file: `${name}-${version}.raw.zst`, compressedSize: 1000, size: 8 * 1024 * 1024, importedAt: inv.clock.now(), readyAt: null })
    if (options.pending !== true) await images.markReady(name, version, inv.clock.now())
  }

  /** The agent of a freshly booted machine: a session, and its hardware report. */
  const connect = async (machineId: string, bootDisk = ''): Promise<OpenedStream> => {
    const stream = await prov.agents.openSession({ kind: 'token', token: await prov.agents.issueToken(machineId, PEER) }, { agentVersion: '1', bootMac: MAC, bootDisk }, PEER)
    await prov.agents.hardwareReported(stream, hardware())
    return stream
  }

  /** A machine that booted, reported its hardware (its agent still connected), was accepted and wiped: ready. */
  const readyMachine = async (options: { bootDisk?: string } = {}): Promise<{ machineId: string, stream: OpenedStream }> => {
    const { machine } = await inv.machines.registerBoot({ mac: MAC, serial: 'LAB0001' })
    const stream = await connect(machine.id, options.bootDisk)
    await prov.discovery.accept(machine.id)
    const wipe = await prov.discovery.wipe(machine.id, { method: 'fast', disks: [] })
    await prov.store.updateTask(wipe.id, { state: 'done', finishedAt: inv.clock.now() })
    await prov.lifecycle.apply(machine.id, { type: 'wipeSucceeded', taskId: wipe.id, summary: 'test' })
    return { machineId: machine.id, stream }
  }

  return { inv, ...prov, installs, provision, images, configs, secrets, imageKey, configKey, bmc, registry, power, addImage, connect, readyMachine }
}
