import { readFileSync } from 'node:fs'
import type { EventView, MachineView } from '../src/http/api-types.ts'

/** The admin API's machine and event JSON (one declaration, shared with the server and the CLI). */
export type ApiMachine = MachineView
export type ApiEvent = EventView

/** A small client for the admin API, with the bearer token read from the server's token file. */
export class LabApi {
  readonly endpoint: string
  readonly #tokenFile: string

  constructor (endpoint: string, tokenFile: string) {
    this.endpoint = endpoint
    this.#tokenFile = tokenFile
  }

  async #get<T> (path: string): Promise<T> {
    const token = readFileSync(this.#tokenFile, 'utf8').trim()
    const res = await fetch(`${this.endpoint}${path}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000)
    })
    const body = await res.text()
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${body.slice(0, 300)}`)
    return JSON.parse(body) as T
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
