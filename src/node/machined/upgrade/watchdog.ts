/**
 * The hardware watchdog during a trial boot (docs/image.md failure mode 1: a hang is not a panic,
 * so without it a hung trial slot never spends its try): while the new slot is on trial, machined
 * holds /dev/watchdog open and pets it; if machined wedges, the watchdog resets the machine and
 * GRUB falls back. After the commit it is closed with the magic 'V' (Documentation/watchdog/
 * watchdog-api.rst "Magic Close"), which disarms it. QEMU: `-device i6300esb -action watchdog=reset`.
 */
import { constants, open, type FileHandle } from 'node:fs/promises'

export type Watchdog = { readonly device: string, disarm (): Promise<void> }

/** Opens and pets `device` every `petMs` (default 10 s); undefined when there is no watchdog. */
export async function armWatchdog (device = '/dev/watchdog', petMs = 10_000, log: (line: string) => void = () => {}): Promise<Watchdog | undefined> {
  let fh: FileHandle
  try {
    // O_WRONLY alone: never O_CREAT (no watchdog must not leave a regular file in /dev).
    fh = await open(device, constants.O_WRONLY)
  } catch {
    return undefined
  }
  const pet = async (): Promise<void> => { await fh.write('\0') }
  await pet()
  const timer = setInterval(() => { pet().catch((err: unknown) => { log(`watchdog: ${(err as Error).message}`) }) }, petMs)
  timer.unref()
  let closed = false
  return {
    device,
    async disarm () {
      if (closed) return
      closed = true
      clearInterval(timer)
      try {
        await fh.write('V')
      } finally {
        await fh.close()
      }
    }
  }
}
