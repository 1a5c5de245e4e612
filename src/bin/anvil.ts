#!/usr/bin/env node
import { resolve } from 'node:path'
import { loadConfig } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import { createLogger, type Logger } from '../log/logger.ts'
import { checkFirstStages, describeFirstStages } from '../boot/first-stages.ts'
import { isCodedError } from '../lib/errors.ts'
import { runCli } from '../cli/program.ts'
import { startServer } from './server.ts'

/** Says at start which iPXE first stages are missing or differ from SHA256SUMS (or that all match). */
async function checkBootAssets (config: Config, log: Logger): Promise<void> {
  const root = resolve(config.bootAssets)
  try {
    for (const m of describeFirstStages(root, await checkFirstStages(root, config.dhcp))) log[m.level](m.fields, m.msg)
  } catch (err) {
    log.error({ err, bootAssets: root }, 'boot assets: could not check the iPXE first stages')
  }
}

/** `anvil serve`: runs until SIGINT/SIGTERM, then shuts down gracefully (bounded). */
async function serve (configFile: string | undefined): Promise<void> {
  let config
  try {
    config = loadConfig(configFile)
  } catch (err) {
    process.stderr.write(`anvil: ${(err as Error).message}\n`)
    process.exit(2)
  }
  const log = createLogger(config.log.level)
  await checkBootAssets(config, log)
  const server = await startServer(config, log)
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'shutting down')
      // A second signal, or a stuck shutdown, exits at once: every write is already durable.
      const force = setTimeout(() => process.exit(1), 10_000)
      force.unref()
      process.once(signal, () => process.exit(1))
      // Once stopped, every write is durable and every listener closed: exit, rather than wait for
      // a peer that vanished without a FIN (a powered-off agent's TCP connection) to time out.
      server.stop().then(() => { clearTimeout(force); log.info('stopped'); process.exit(0) }, (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
}

runCli(process.argv.slice(2), serve).then((code) => {
  process.exitCode = code
}, (err: unknown) => {
  process.stderr.write(`anvil: ${isCodedError(err) ? err.message : String(err)}\n`)
  process.exitCode = 1
})
