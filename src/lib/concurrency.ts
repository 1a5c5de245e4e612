/** At most `limit` tasks at once; the rest wait in arrival order. */
export class Semaphore {
  readonly #limit: number
  #active = 0
  readonly #waiting: (() => void)[] = []

  constructor (limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`)
    this.#limit = limit
  }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    else this.#active++
    try {
      return await task()
    } finally {
      // Hand the slot straight to the next waiter (the count stays), or free it.
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#active--
    }
  }
}

/** Runs tasks one at a time per key (a BMC handles one command at a time), in arrival order. */
export class KeyedSerializer {
  readonly #tails = new Map<string, Promise<unknown>>()

  async run<T> (key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve()
    const result = before.then(task, task)
    const tail = result.catch(() => undefined)
    this.#tails.set(key, tail)
    // Forget the key once nothing is queued behind this task, so the map does not grow.
    void tail.then(() => { if (this.#tails.get(key) === tail) this.#tails.delete(key) })
    return await result
  }
}
