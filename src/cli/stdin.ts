import { CodedError } from '../lib/errors.ts'

/**
 * Reads a secret from standard input (`--password-stdin`), so it never appears in the process
 * list or the shell history. One trailing newline is dropped (`echo pw | anvil ...`).
 */
export async function readSecretFromStdin (what: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if ((stdin as { isTTY?: boolean }).isTTY === true) {
    throw new CodedError('ERR_USAGE', `${what}: pipe it on standard input, e.g. \`printf %s "$PW" | anvil ...\``)
  }
  const chunks: Buffer[] = []
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}
