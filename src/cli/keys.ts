import type { Command } from 'commander'
import { loadConfig } from '../config/load.ts'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { loadPublicKey, publicKeyString, signingKeyFiles, type SigningKeyName } from '../signing/keys.ts'
import type { CliContext } from './machines.ts'
import { renderData, renderTable, type Column } from './output.ts'

type KeyRow = { name: SigningKeyName, keyId: string, publicKey: string, file: string }

const KEY_COLUMNS: Column<KeyRow>[] = [
  { header: 'KEY', get: k => k.name },
  { header: 'KEY ID', get: k => k.keyId },
  { header: 'PUBLIC KEY', get: k => k.publicKey }
]

/** The server's data dir: --data-dir, else the --config file's (env ANVIL_CONFIG) dataDir, else the default (./var). */
export function cliDataDir (program: Command, dataDir: string | undefined): string {
  return dataDir ?? loadConfig(program.opts<{ config?: string }>().config ?? process.env.ANVIL_CONFIG).dataDir
}

/** `anvil keys show`: the public halves of the image and config keys, read from the server's data dir. */
export function registerKeysCommand (program: Command, ctx: CliContext): void {
  const keys = program.command('keys').alias('key').description('the signing keys: image manifests (image key) and machine configs (config key)')

  keys.command('show').description('print the image and config public keys (minisign "RW…" form) and their key ids')
    .option('--data-dir <dir>', 'the server\'s data dir (default: dataDir of --config, else ./var)')
    .action(async (opts: { dataDir?: string }) => {
      const dataDir = cliDataDir(program, opts.dataDir)
      const rows: KeyRow[] = []
      for (const name of ['image', 'config'] as const) {
        const file = signingKeyFiles(dataDir, name).publicKeyFile
        const key = await loadPublicKey(file).catch((err: unknown) => {
          if (isCodedError(err) && err.code === 'ERR_SIGNING_KEY_UNREADABLE') {
            throw new CodedError(err.code, `${err.message} (the server makes its keys at first start: is ${dataDir} its data dir? see --config, --data-dir)`)
          }
          throw err
        })
        rows.push({ name, keyId: key.keyId, publicKey: publicKeyString(key), file })
      }
      const format = ctx.output()
      ctx.print(format === 'table' ? renderTable(rows, KEY_COLUMNS) : renderData(rows, format))
    })
}
