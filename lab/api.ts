import { readFileSync } from 'node:fs'

/** A machine as the admin API returns it (server contract: GET /api/v1/machines). */
export type ApiMachine = {
  readonly id: string
  readonly uuid: string | null
  readonly uuidStatus: string
  readonly serial: string | null
  readonly manufacturer: string | null
  readonly product: string | null
  readonly firmware: string | null
  readonly arch: string | null
  readonly ip: string | null
  readonly macs: readonly string[]
  readonly state: string
  readonly stateReason: string | null
  readonly lastSeenAt: string | null
}

/** One timeline event (GET /api/v1/machines/:id/events). */
export type ApiEvent = {
  readonly id: string | number
  readonly at: string
  readonly source: string
  readonly type: string
  readonly message: string
  readonly data: unknown
}

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
