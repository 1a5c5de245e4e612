import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { EraseReportView, HardwareView, MachineView, TaskJson } from '../../src/http/api-types.ts'
import { Teardown, addTap, inNamespace } from '../../lab/netns.ts'
import { startDaemon, stopDaemon, waitFor, type Daemon } from '../../lab/proc.ts'
import { prepareVm, qemuArgv, vmFiles, type VmIdentity } from '../../lab/qemu.ts'
import type { Lab } from '../../lab/start-lab.ts'
import { diskArgv, type LabDisk } from './lab-discovery-disks.ts'
import { tail } from './lab-boot.ts'

/** An API answer that was not 2xx: the status and the error code from the body. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string | undefined

  constructor (message: string, status: number, code: string | undefined) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** The discovery part of the admin API (the lab's LabApi covers enrolment and power). */
export class DiscoveryApi {
  readonly #endpoint: string
  readonly #tokenFile: string

  constructor (lab: Lab) {
    this.#endpoint = lab.api.endpoint
    this.#tokenFile = lab.anvil.tokenFile
  }

  async #request<T> (method: 'GET' | 'POST', path: string, json?: unknown): Promise<T> {
    const token = readFileSync(this.#tokenFile, 'utf8').trim()
    const res = await fetch(`${this.#endpoint}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      signal: AbortSignal.timeout(15_000)
    })
    const body = await res.text()
    if (!res.ok) {
      let code: string | undefined
      try {
        code = (JSON.parse(body) as { error?: { code?: string } }).error?.code
      } catch {}
      throw new ApiError(`${method} ${path}: HTTP ${res.status} ${body.slice(0, 300)}`, res.status, code)
    }
    return (body === '' ? undefined : JSON.parse(body)) as T
  }

  async machine (id: string): Promise<MachineView> {
    return await this.#request('GET', `/api/v1/machines/${encodeURIComponent(id)}`)
  }

  async hardware (id: string): Promise<HardwareView> {
    return await this.#request('GET', `/api/v1/machines/${encodeURIComponent(id)}/hardware`)
  }

  async accept (id: string): Promise<MachineView> {
    return await this.#request('POST', `/api/v1/machines/${encodeURIComponent(id)}/accept`)
  }

  async wipe (id: string, body: { method: 'fast' | 'zeroes', disks?: string[] }): Promise<TaskJson> {
    return await this.#request('POST', `/api/v1/machines/${encodeURIComponent(id)}/wipe`, body)
  }

  async tasks (id: string): Promise<TaskJson[]> {
    return (await this.#request<{ items: TaskJson[] }>('GET', `/api/v1/machines/${encodeURIComponent(id)}/tasks`)).items
  }

  async eraseReports (id: string): Promise<EraseReportView[]> {
    return (await this.#request<{ items: EraseReportView[] }>('GET', `/api/v1/machines/${encodeURIComponent(id)}/erase-reports`)).items
  }
}

/** A discovery VM: a lab VM identity plus its disks, started by the test (not by startLab). */
export type DiscoveryVm = { readonly identity: VmIdentity, readonly disks: readonly LabDisk[], readonly daemon: Daemon, readonly serialLog: string, readonly startedAt: number }

/**
 * Starts a lab VM (PXE from Anvil, as lab/qemu.ts builds it) with extra disks, on its own tap in
 * the lab namespace. Stopped (and its tap removed) by `teardown`, before the lab itself goes.
 */
export async function startDiscoveryVm (lab: Lab, identity: VmIdentity, disks: readonly LabDisk[], teardown: Teardown): Promise<DiscoveryVm> {
  await addTap(lab.ns, identity.tap, teardown)
  await prepareVm(identity, lab.runDir)
  const files = vmFiles(lab.runDir, identity)
  const startedAt = Date.now()
  const daemon = startDaemon({ name: identity.name, argv: inNamespace(lab.ns, [...qemuArgv(identity, lab.runDir), ...diskArgv(disks)]), logFile: files.stdoutLog })
  teardown.push(`stop ${identity.name}`, async () => await stopDaemon(daemon))
  return { identity, disks, daemon, serialLog: files.serialLog, startedAt }
}

/** Waits (bounded) until the VM's machine exists and has reported its hardware; the error carries the console. */
export async function waitForHardware (lab: Lab, api: DiscoveryApi, vm: DiscoveryVm, timeoutMs = 240_000): Promise<{ machine: MachineView, hardware: HardwareView }> {
  try {
    return await waitFor(`${vm.identity.name} (${vm.identity.firmware}) to report its hardware`, timeoutMs, async () => {
      const machine = await lab.api.machineByMac(vm.identity.mac)
      if (machine === undefined) return undefined
      try {
        return { machine, hardware: await api.hardware(machine.id) }
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return undefined
        throw err
      }
    }, { intervalMs: 1_000, giveUp: () => vm.daemon.alive() ? undefined : `QEMU for ${vm.identity.name} exited` })
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${vm.identity.name} console ---\n${tail(vm.serialLog, 3000)}\n--- anvil log ---\n${tail(join(lab.runDir, 'anvil.log'), 3000)}`)
  }
}

/** Waits (bounded) until the task has finished; returns it (done or failed). */
export async function waitForTask (api: DiscoveryApi, machineId: string, taskId: string, timeoutMs = 180_000): Promise<TaskJson> {
  return await waitFor(`task ${taskId} on ${machineId}`, timeoutMs, async () => {
    const task = (await api.tasks(machineId)).find(t => t.id === taskId)
    return task !== undefined && (task.state === 'done' || task.state === 'failed') ? task : undefined
  }, { intervalMs: 1_000 })
}
