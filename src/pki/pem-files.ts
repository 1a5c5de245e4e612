import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'

/** The text of `file`, or undefined when it does not exist (any other error is thrown). */
export async function readIfExists (file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** A certificate file, or undefined when it is missing or unparsable: certificates are derived data, reissued from their key. */
export async function readCertificate (file: string): Promise<X509Certificate | undefined> {
  const pem = await readIfExists(file)
  if (pem === undefined) return undefined
  try {
    return new X509Certificate(pem)
  } catch {
    return undefined
  }
}
