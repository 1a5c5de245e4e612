import { readFileSync } from 'node:fs'
import type { BootDeviceView, EventView, MachineView, PowerStateView, PowerStatusView } from '../src/http/api-types.ts'

/** The admin API's machine and event JSON (one declaration, shared with the server and the CLI). */
export type ApiMachine = MachineView
export type ApiEvent = EventView

/** A BMC as the API takes it (PUT /api/v1/machines/:id/bmc); the password is never answered back. */
export type LabBmcCredentials = { address: string, port?: number, user: string, password: string, cipherSuite?: 'auto' | 3 | 17 }

/** A small client for the admin API, with the bearer token read from the server's token file. */
export class LabApi {
  readonly endpoint: string
  readonly #tokenFile: string

  constructor (endpoint: string, tokenFile: string) {
    this.endpoint = endpoint
    this.#tokenFile = tokenFile
  }

  async #get<T> (path: string): Promise<T> {
    return await this.#request<T>('GET', path)
  }

  /** One API call; a non-2xx answer throws with the status and the start of the body (the error code). */
  async #request<T> (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, json?: unknown, timeoutMs = 10_000): Promise<T> {
    const token = readFileSync(this.#tokenFile, 'utf8').trim()
    const res = await fetch(`${this.endpoint}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      signal: AbortSignal.timeout(timeoutMs)
    })
    const body = await res.text()
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${body.slice(0, 300)}`)
    return (body === '' ? undefined : JSON.parse(body)) as T
  }

  /** Enrols a machine before its first boot (POST /api/v1/machines), with its BMC. */
  async enroll (machine: { mac: string, uuid?: string, serial?: string, bmc?: LabBmcCredentials }): Promise<ApiMachine> {
    return await this.#request<ApiMachine>('POST', '/api/v1/machines', machine)
  }

  /** Sets (or replaces) a machine's BMC. */
  async setBmc (id: string, bmc: LabBmcCredentials): Promise<ApiMachine> {
    return await this.#request<ApiMachine>('PUT', `/api/v1/machines/${encodeURIComponent(id)}/bmc`, bmc)
  }

  /** The machine's power state as its BMC reports it. */
  async power (id: string): Promise<PowerStateView> {
    return await this.#get<PowerStateView>(`/api/v1/machines/${encodeURIComponent(id)}/power`)
  }

  /** A power action; resolves once Anvil has read the new state back (up to its readBackTimeout). */
  async powerAction (id: string, action: 'on' | 'off' | 'cycle' | 'reset' | 'soft'): Promise<PowerStateView> {
    return await this.#request<PowerStateView>('POST', `/api/v1/machines/${encodeURIComponent(id)}/power`, { action }, 60_000)
  }

  /** The boot flags as the BMC reads them back. */
  async bootDevice (id: string): Promise<BootDeviceView> {
    return await this.#get<BootDeviceView>(`/api/v1/machines/${encodeURIComponent(id)}/boot-device`)
  }

  /** Sets the boot device; answers what the BMC read back. */
  async setBootDevice (id: string, device: 'pxe' | 'disk', options: { persistent?: boolean, efi?: boolean } = {}): Promise<BootDeviceView> {
    return await this.#request<BootDeviceView>('POST', `/api/v1/machines/${encodeURIComponent(id)}/boot-device`, { device, ...options }, 30_000)
  }

  /** Every machine with a BMC and its power state (or why it could not be read). */
  async powerAll (timeoutMs = 30_000): Promise<PowerStatusView> {
    return await this.#request<PowerStatusView>('GET', '/api/v1/power', undefined, timeoutMs)
  }

  /** Every machine in the inventory. */
  async machines (): Promise<ApiMachine[]> {
    return (await this.#get<{ items: ApiMachine[] }>('/api/v1/machines')).items
  }

  /** A machine's timeline, oldest first. */
  async events (id: string): Promise<ApiEvent[]> {
    return (await this.#get<{ items: ApiEvent[] }>(`/api/v1/machines/${encodeURIComponent(id)}/events`)).items
  }

  /** The machine that holds this MAC (lower-case colon form), if any. */
  async machineByMac (mac: string): Promise<ApiMachine | undefined> {
    const want = mac.toLowerCase()
    return (await this.machines()).find(m => m.macs.includes(want))
  }
}
