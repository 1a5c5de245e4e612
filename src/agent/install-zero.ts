import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'

// The install's zero chunks through the kernel's BLKZEROOUT (native/zeroout.c, built into the
// boot environment as /usr/bin/anvil-zeroout): the kernel sends the device a WRITE ZEROES command
// where it has one, else writes zero pages itself, so none of the zeroes pass through this
// process or its CPU (under emulation, writing 1 GB of zeroes from user memory costs as much as
// the rest of the install). The caller writes zeroes itself when this is absent or refused.

/** Zeroes `length` bytes of `device` from `offset` (multiples of 512); rejects with the reason. */
export type ZeroOut = (device: string, offset: number, length: number) => Promise<void>

export const ZEROOUT_PROGRAM = '/usr/bin/anvil-zeroout'

/** The boot environment's anvil-zeroout as a ZeroOut, or undefined where it is not installed. */
export function kernelZeroOut (program = ZEROOUT_PROGRAM): ZeroOut | undefined {
  if (!existsSync(program)) return undefined
  return async (device, offset, length) => {
    await new Promise<void>((resolve, reject) => {
      execFile(program, [device, String(offset), String(length)], { timeout: 300_000 }, (err, _stdout, stderr) => {
        if (err === null) resolve()
        else reject(new Error(stderr.trim().split('\n').at(-1)?.slice(0, 300) || err.message))
      })
    })
  }
}
