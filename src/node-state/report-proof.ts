import { createHash } from 'node:crypto'

/**
 * The bytes an installed node signs with its identity key in its first report (NodeReport.proof):
 * they bind the key to the machine, the config generation and the one-time token, so a report
 * overheard cannot be replayed with another key, and a proof cannot be reused for another machine.
 * Only the token's SHA-256 is in it: the server keeps no more than that.
 */
export function nodeReportProof (machineId: string, configGeneration: number, nodeToken: string): Buffer {
  const tokenHash = createHash('sha256').update(nodeToken, 'utf8').digest('hex')
  return Buffer.from(`anvil node report v1\n${machineId}\n${configGeneration}\n${tokenHash}\n`, 'utf8')
}
