import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { buildProgram } from './program.ts'
import { ensureSigningKeys, publicKeyString } from '../signing/keys.ts'
import { tempDir } from '../signing/testing.ts'

const { dir, remove } = tempDir('anvil-cli-keys-')
after(remove)

async function run (args: string[]): Promise<string> {
  let out = ''
  await buildProgram(async () => {}, (t) => { out += t }).parseAsync(args, { from: 'user' })
  return out
}

test('anvil keys show prints both public keys from the data dir of --config, as a table, JSON or YAML', async () => {
  const dataDir = join(dir, 'var')
  const keys = await ensureSigningKeys(dataDir)
  const config = join(dir, 'anvil.yaml')
  writeFileSync(config, `dataDir: ${dataDir}\n`)
  const table = await run(['-c', config, 'keys', 'show'])
  assert.match(table, /^KEY\s+KEY ID\s+PUBLIC KEY\n/)
  assert.match(table, new RegExp(`\nimage\\s+${keys.image.keyId}\\s+${publicKeyString(keys.image.publicKey).replaceAll('+', '\\+')}\n`))
  assert.match(table, new RegExp(`\nconfig\\s+${keys.config.keyId}\\s+`))
  const rows = JSON.parse(await run(['-c', config, '-o', 'json', 'keys', 'show'])) as Array<{ name: string, keyId: string, publicKey: string, file: string }>
  assert.deepEqual(rows.map(r => [r.name, r.keyId, r.publicKey, r.file]), [
    ['image', keys.image.keyId, publicKeyString(keys.image.publicKey), keys.image.publicKeyFile],
    ['config', keys.config.keyId, publicKeyString(keys.config.publicKey), keys.config.publicKeyFile]
  ])
  assert.deepEqual(parse(await run(['-o', 'yaml', 'keys', 'show', '--data-dir', dataDir])), rows, '--data-dir, YAML')
})

test('anvil keys show on a data dir without keys says where it looked', async () => {
  await assert.rejects(run(['keys', 'show', '--data-dir', join(dir, 'empty')]), { code: 'ERR_SIGNING_KEY_UNREADABLE', message: /image\.pub.*first start/ })
})
