import { readFileSync } from 'node:fs'
import { isErrorCode } from '../lib/error-codes.ts'
import { CodedError } from '../lib/errors.ts'

/** Where the CLI finds the API and its token. */
export type ClientOptions = { readonly endpoint: string, readonly tokenFile: string }

/** A thin client of the admin API: JSON in, JSON out, API errors rethrown with their codes. */
export class ApiClient {
  readonly #endpoint: string
  readonly #tokenFile: string
  #token: string | undefined

  constructor (options: ClientOptions) {
    this.#endpoint = options.endpoint.replace(/\/+$/, '')
    this.#tokenFile = options.tokenFile
  }

  #readToken (): string {
    if (this.#token !== undefined) return this.#token
    try {
      this.#token = readFileSync(this.#tokenFile, 'utf8').trim()
    } catch (err) {
      throw new CodedError('ERR_TOKEN_UNREADABLE', `cannot read the admin token from ${this.#tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'}): pass --token-file or set ANVIL_TOKEN_FILE`)
    }
    return this.#token
  }

  async get<T> (path: string): Promise<T> {
    return await this.request<T>('GET', path)
  }

  async post<T> (path: string, body: unknown): Promise<T> {
    return await this.request<T>('POST', path, body)
  }

  /**
   * One API call. The timeout is generous: a power action answers only once the BMC reads back
   * the new state, and a soft shutdown waits for the operating system.
   */
  /** Streams a file's bytes as the body of a PUT (an image artifact: never read into memory whole). */
  async putStream<T> (path: string, body: ReadableStream<Uint8Array>): Promise<T> {
    return await this.request<T>('PUT', path, { stream: body })
  }

  async request<T> (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const url = this.#endpoint + path
    let res: Response
    const headers: Record<string, string> = { authorization: `Bearer ${this.#readToken()}`, accept: 'application/json' }
    const stream = typeof body === 'object' && body !== null && 'stream' in body ? (body as { stream: ReadableStream<Uint8Array> }).stream : undefined
    if (body !== undefined) headers['content-type'] = stream === undefined ? 'application/json' : 'application/octet-stream'
    const init: RequestInit & { duplex?: 'half' } = stream !== undefined
      ? { method, headers, body: stream, duplex: 'half' }
      : { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(stream === undefined ? 300_000 : 3_600_000) })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
      throw new CodedError('ERR_API_UNREACHABLE', `cannot reach the Anvil API at ${this.#endpoint} (${cause}): is \`anvil serve\` running? (--endpoint / ANVIL_ENDPOINT)`)
    }
    const text = await res.text()
    let answer: unknown
    try {
      answer = text === '' ? undefined : JSON.parse(text)
    } catch {
      throw new CodedError('ERR_API_RESPONSE', `the API at ${url} answered ${res.status} with something that is not JSON`)
    }
    if (!res.ok) {
      const e = (answer as { error?: { code?: string, message?: string } } | undefined)?.error
      // A code this CLI does not know (a newer server) is still shown, as the message says it.
      const code = isErrorCode(e?.code) ? e.code : 'ERR_API_RESPONSE'
      const message = e?.message ?? `the API answered ${res.status}`
      throw new CodedError(code, code === e?.code || e?.code === undefined ? message : `${message} [${String(e.code)}]`)
    }
    return answer as T
  }
}
