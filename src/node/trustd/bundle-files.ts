import { chmod, mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Bundle } from './renewer.ts'

/** The files apid reads its identity from (it watches them: a new certificate without a restart). */
export const BUNDLE_FILES = { key: 'apid.key', certificate: 'apid.crt', ca: 'ca.crt' } as const

/**
 * Writes the bundle into `dir` (0700), each file atomically (a temporary beside it, then rename),
 * the key 0600, the key first and the certificate last: a reader that sees the new certificate
 * sees its key already. (A reader between the two renames may pair the new key with the old
 * certificate; apid's provider reloads on the next change, and the handshake check fails closed.)
 */
export async function writeBundle (dir: string, bundle: Bundle): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const put = async (name: string, text: string, mode: number): Promise<void> => {
    const tmp = join(dir, `.${name}.tmp`)
    await writeFile(tmp, text, { mode })
    await chmod(tmp, mode)
    await rename(tmp, join(dir, name))
  }
  await put(BUNDLE_FILES.ca, bundle.caPem, 0o644)
  await put(BUNDLE_FILES.key, bundle.keyPem, 0o600)
  await put(BUNDLE_FILES.certificate, bundle.certificatePem, 0o644)
}
