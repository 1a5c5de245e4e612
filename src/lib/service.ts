/** A long-running piece of the server: started together, stopped in reverse order. */
export interface Service {
  readonly name: string
  start (signal: AbortSignal): Promise<void>
  stop (): Promise<void>
}

export type RunAllOptions = {
  /** How long stop() of all services may take before we give up on the rest. */
  readonly shutdownTimeoutMs?: number
  readonly onError?: (service: string, err: unknown) => void
}

/**
 * Starts services in order and returns a stop function that stops them in reverse order,
 * bounded by shutdownTimeoutMs. A service that fails to start stops those already started.
 */
export async function runAll (services: readonly Service[], options: RunAllOptions = {}): Promise<() => Promise<void>> {
  const controller = new AbortController()
  const started: Service[] = []
  const stopAll = async (): Promise<void> => {
    controller.abort()
    const deadline = Date.now() + (options.shutdownTimeoutMs ?? 10_000)
    for (const s of started.reverse()) {
      const left = Math.max(0, deadline - Date.now())
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          s.stop(),
          new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${s.name} did not stop within the shutdown timeout`)), left) })
        ])
      } catch (err) {
        options.onError?.(s.name, err)
      } finally {
        clearTimeout(timer)
      }
    }
    started.length = 0
  }
  for (const s of services) {
    try {
      await s.start(controller.signal)
      started.push(s)
    } catch (err) {
      await stopAll()
      throw err
    }
  }
  return stopAll
}
