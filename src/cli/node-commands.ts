import { InvalidArgumentError, Option, type Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { terminalSafe } from '../lib/text.ts'
import type { LogLine } from '../proto/generated/anvil/node/v1/LogLine.ts'
import type { OperationReply } from '../proto/generated/anvil/node/v1/OperationReply.ts'
import type { UpgradeRequest } from '../proto/generated/anvil/node/v1/UpgradeRequest.ts'
import { operationFailure, waitForOperation } from './node-wait.ts'
import type { CliContext } from './machines.ts'
import type { NodeApiClient } from './node-client.ts'
import { failureOf, fanOut, openNodeSession, type NodeOutcome, type NodeSession } from './node-fanout.ts'
import { DISKS_VIEW, logLineText, MEMORY_VIEW, MOUNTS_VIEW, OPERATION_VIEW, OPERATIONS_VIEW, PROCESSES_VIEW, renderNodeTable, servicesView, VERSION_VIEW, type TableView } from './node-views.ts'
import { untilInterrupted } from './operations.ts'
import { DEFAULT_RESET_WAIT, resetTimeout, waitForReady } from './reset.ts'
import { APPLY_MODES, appliedText, applyOnNode, DEFAULT_TRY_TIMEOUT, tryTimeoutSeconds, type ApplyMode } from './apply-config.ts'
import { readConfigFile } from './config.ts'
import { renderData, type OutputFormat } from './output.ts'

/** The CLI context with what the node verbs add: the `-n` values and $ANVIL_HOME. */
export type NodeCliContext = CliContext & { readonly nodes: () => readonly string[], readonly anvilHome: () => string }

async function session (ctx: NodeCliContext): Promise<NodeSession> {
  return await openNodeSession({ nodes: ctx.nodes(), anvilHome: ctx.anvilHome(), client: ctx.client })
}

/** One call on every node; a table with a NODE column, or the outcomes as they are; exit 1 if any failed. */
async function runUnary<R, Row> (ctx: NodeCliContext, call: (client: NodeApiClient, node: string) => Promise<R>, view: TableView<R, Row>): Promise<void> {
  const format = ctx.output()
  const outcomes = await fanOut(await session(ctx), call)
  ctx.print(format === 'table' ? renderNodeTable(outcomes, view) : renderData(outcomes, format))
  const failure = failureOf(outcomes)
  if (failure !== undefined) throw failure
}

type StreamOpen = (client: NodeApiClient, signal: AbortSignal | undefined) => AsyncGenerator<LogLine>

/** One document of a followed stream in JSON or YAML: a stream of JSON texts (jq reads it), or YAML documents. */
function followDoc (value: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? renderData(value, 'json') : `---\n${renderData(value, 'yaml')}`
}

/**
 * A log stream from every node. Table: each line as it comes, after its node when there are
 * several. JSON/YAML: without -f, the outcomes with each node's lines at the end; with -f, a
 * document per line `{ node, line }` and one `{ node, error }` for a node that fails. A follow ends
 * at Ctrl-C with ERR_INTERRUPTED (exit 130), or when every stream has ended.
 */
async function runStream (ctx: NodeCliContext, open: StreamOpen, follow: boolean): Promise<void> {
  const format = ctx.output()
  const s = await session(ctx)
  const several = s.targets.length > 1
  const width = Math.max(...s.targets.map(t => t.length))
  const read = async (signal: AbortSignal | undefined): Promise<Array<NodeOutcome<LogLine[]>>> => await fanOut(s, async (client, node) => {
    const kept: LogLine[] = []
    for await (const line of open(client, signal)) {
      if (format === 'table') ctx.print(logLineText(line, several ? node : undefined, width))
      else if (follow) ctx.print(followDoc({ node, line }, format))
      else kept.push(line)
    }
    return kept
  }, follow
    ? (o) => {
        if (!('error' in o)) return
        ctx.print(format === 'table' ? `${o.node.padEnd(width)}  error: ${o.error.message} [${o.error.code}]\n` : followDoc(o, format))
      }
    : undefined)
  if (!follow) {
    const outcomes = await read(undefined)
    if (format !== 'table') ctx.print(renderData(outcomes, format))
    const failure = failureOf(outcomes)
    if (failure !== undefined) throw failure
    return
  }
  let stopped = false
  const outcomes = await untilInterrupted(async (signal) => {
    signal.addEventListener('abort', () => { stopped = true }, { once: true })
    return await read(signal)
  })
  if (stopped) throw new CodedError('ERR_INTERRUPTED', `stopped following ${s.targets.length === 1 ? s.targets[0] ?? '' : `${s.targets.length} nodes`}`)
  const failure = failureOf(outcomes)
  if (failure !== undefined) throw failure
}

function lineCount (v: string): number {
  const n = Number(v)
  if (!/^\d{1,7}$/.test(v) || n > 1_000_000) throw new InvalidArgumentError('an integer from 0 (every line kept) to 1000000')
  return n
}

const MAX_SERVICE_ID = 128

/**
 * `reset --wait`: on every node, its machine id (Version), the reset, then the machine in Anvil's
 * inventory until it is ready. Table: the operation and each state as it comes, after the node
 * when there are several; JSON/YAML: the outcomes at the end. Exit 1 if any node failed.
 */
async function resetAndWait (ctx: NodeCliContext, req: { graceful: boolean, wipe: string }, timeoutMs: number): Promise<void> {
  const format = ctx.output()
  const s = await session(ctx)
  const width = Math.max(...s.targets.map(t => t.length))
  const prefixOf = (node: string): string => s.targets.length > 1 ? `${node.padEnd(width)}  ` : ''
  const say = (line: string): void => { if (format === 'table') ctx.print(line) }
  const outcomes = await untilInterrupted(async (signal) => await fanOut(s, async (client, node) => {
    const { machineId } = await client.version()
    if (machineId === '') throw new CodedError('ERR_INVALID_STATE', 'the node names no machine (it has no STATE): there is nothing to follow in Anvil')
    const { operation } = await client.reset(req)
    if (operation !== null) say(terminalSafe(`${prefixOf(node)}operation ${operation.id}: ${operation.state} (${operation.phase})`) + '\n')
    const m = await waitForReady(ctx.client(), machineId, say, { timeoutMs, signal, prefix: prefixOf(node) })
    return { operation, machine: { id: m.id, state: m.state } }
  }))
  if (format !== 'table') ctx.print(renderData(outcomes, format))
  const failure = failureOf(outcomes)
  if (failure !== undefined) throw failure
}

/** The node verbs: `anvil [-n NODE]... version|services|memory|disks|mounts|processes|dmesg|logs|reboot|reset|apply-config|shutdown|upgrade|rollback|node-operations`. */
export function registerNodeCommands (program: Command, ctx: NodeCliContext): void {
  const on = ' (on every -n NODE, else the current context\'s endpoint)'
  program.command('version').description('the node\'s machine id, host name, image, slot, config generation, kernel and uptime' + on)
    .action(async () => { await runUnary(ctx, async c => await c.version(), VERSION_VIEW) })
  program.command('services').description('the services machined supervises: state, health, pid, restarts' + on)
    .action(async () => { await runUnary(ctx, async c => await c.services(), servicesView(Date.now())) })
  program.command('memory').description('memory and swap (/proc/meminfo)' + on)
    .action(async () => { await runUnary(ctx, async c => await c.memory(), MEMORY_VIEW) })
  program.command('disks').description('disks and their partitions' + on)
    .action(async () => { await runUnary(ctx, async c => await c.disks(), DISKS_VIEW) })
  program.command('mounts').description('mounted file systems, with size and space available' + on)
    .action(async () => { await runUnary(ctx, async c => await c.mounts(), MOUNTS_VIEW) })
  program.command('processes').alias('ps').description('every process: pid, state, threads, memory, CPU time, command line' + on)
    .action(async () => { await runUnary(ctx, async c => await c.processes(), PROCESSES_VIEW) })

  program.command('dmesg').description('the kernel log; -f follows it until Ctrl-C' + on)
    .option('-f, --follow', 'keep printing new lines')
    .option('--tail <n>', 'only the last n lines kept (0: all)', lineCount, 0)
    .action(async (o: { follow?: boolean, tail: number }) => {
      const follow = o.follow === true
      await runStream(ctx, (c, signal) => c.dmesg({ follow, tail: o.tail }, signal), follow)
    })
  program.command('logs').description('one service\'s output (machined, apid, trustd, ...); -f follows it until Ctrl-C' + on)
    .argument('<service>')
    .option('-f, --follow', 'keep printing new lines')
    .option('--tail <n>', 'only the last n lines kept (0: all)', lineCount, 0)
    .action(async (service: string, o: { follow?: boolean, tail: number }) => {
      if (service.length > MAX_SERVICE_ID) throw new CodedError('ERR_USAGE', `a service id is at most ${MAX_SERVICE_ID} characters`)
      const follow = o.follow === true
      await runStream(ctx, (c, signal) => c.logs({ service, follow, tail: o.tail }, signal), follow)
    })

  program.command('reboot').description('stop the services, sync the disks and reboot; prints the operation' + on)
    .addOption(new Option('--mode <mode>', 'default: services stopped first; force: at once').choices(['default', 'force']).default('default'))
    .action(async (o: { mode: 'default' | 'force' }) => { await runUnary(ctx, async c => await c.reboot(o.mode), OPERATION_VIEW) })
  program.command('reset').description('the node leaves its installed life: it erases what --wipe says and reboots, Anvil wipes the rest through its agent and the machine becomes ready; prints the operation' + on)
    .option('--graceful', 'services stopped first, and Anvil must have been told (else nothing is wiped)')
    .addOption(new Option('--wipe <what>', 'state: identity and signed config; ephemeral; all: both, and no boot slot left').choices(['state', 'ephemeral', 'all']).default('all'))
    .option('--wait', 'follow the machine in Anvil\'s inventory until it is ready (or in error)')
    .option('--timeout <duration>', 'with --wait: give up waiting after this long (the reset goes on)', DEFAULT_RESET_WAIT)
    .action(async (o: { graceful?: boolean, wipe: 'state' | 'ephemeral' | 'all', wait?: boolean, timeout: string }) => {
      const req = { graceful: o.graceful === true, wipe: o.wipe }
      const timeoutMs = resetTimeout(o.timeout)
      if (o.wait !== true) {
        await runUnary(ctx, async c => await c.reset(req), OPERATION_VIEW)
        return
      }
      await resetAndWait(ctx, req, timeoutMs)
    })
  registerUpgradeCommands(program, ctx, on)
  program.command('apply-config').description('a new machine config for the node: Anvil signs it for the node\'s machine (its next generation), the node verifies it and applies it by --mode; prints the key paths that change (never their values) and the operation' + on)
    .argument('<file>', 'machine config YAML')
    .addOption(new Option('--mode <mode>', 'auto: live when it can, else written and rebooted; no-reboot: live or refused; reboot: written, then a reboot; try: live until --timeout, then the previous config is restored unless applied again in another mode').choices([...APPLY_MODES]).default('auto'))
    .option('--timeout <duration>', 'with --mode try: how long the new config is on trial', DEFAULT_TRY_TIMEOUT)
    .option('--dry-run', 'only verified and compared on the node: prints what would change, applies nothing')
    .action(async (file: string, o: { mode: ApplyMode, timeout: string, dryRun?: boolean }) => {
      const req = { mode: o.mode, tryTimeoutS: o.mode === 'try' ? tryTimeoutSeconds(o.timeout) : 0, dryRun: o.dryRun === true }
      const text = readConfigFile(file)
      const format = ctx.output()
      const outcomes = await fanOut(await session(ctx), async (client) => await applyOnNode(ctx.client(), client, text, req))
      ctx.print(format === 'table' ? appliedText(outcomes) : renderData(outcomes, format))
      const failure = failureOf(outcomes)
      if (failure !== undefined) throw failure
    })
  program.command('shutdown').description('stop the services, sync the disks and power off; prints the operation' + on)
    .option('--force', 'at once, without stopping the services first')
    .action(async (o: { force?: boolean }) => { await runUnary(ctx, async c => await c.shutdown(o.force === true), OPERATION_VIEW) })
}

/** What GET /api/v1/images/:ref/release answers (src/http/image-routes.ts). */
type Release = { name: string, version: string, manifest: string, signature: string, artifactUrl: string }

function duration (v: string): number {
  const m = /^(\d{1,5})(s|m|h)?$/.exec(v)
  if (m === null) throw new InvalidArgumentError('a duration: 90s, 5m, 1h')
  const n = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1)
  if (n < 1 || n > 3600) throw new InvalidArgumentError('from 1 s to 1 h')
  return n
}

/** upgrade / rollback / operations on every -n node; --wait follows each across its reboot. */
function registerUpgradeCommands (program: Command, ctx: NodeCliContext, on: string): void {
  const follow = async (client: NodeApiClient, node: string, reply: OperationReply, o: { wait?: boolean, timeout: number }): Promise<OperationReply> => {
    const op = reply.operation
    if (o.wait !== true || op === null) return reply
    const done = await waitForOperation(async () => (await client.getOperation(op.id)).operation, {
      timeoutMs: o.timeout * 1000,
      // The phase, kind and id come from the node: escaped like every other node text.
      onPhase: (phase) => { process.stderr.write(terminalSafe(`${node}: ${op.kind} ${op.id}: ${phase}`) + '\n') }
    })
    const failure = operationFailure(done)
    if (failure !== undefined) throw failure
    return { operation: done }
  }
  program.command('upgrade').description('write an image into the slot that is not running, boot it for one try, commit it once healthy; prints the operation' + on)
    .requiredOption('--image <name[:version]>', 'an image Anvil holds (GET /api/v1/images/:ref/release)')
    .option('--force', 'allow the same or an older version (never a lower security version)')
    .option('--wait', 'follow the operation across the reboot until it is final; exit 1 unless it succeeded')
    .option('--health-timeout <duration>', 'the new slot\'s time to come up healthy', duration, 300)
    .option('--timeout <duration>', 'how long --wait waits', duration, 1800)
    .action(async (o: { image: string, force?: boolean, wait?: boolean, healthTimeout: number, timeout: number }) => {
      const release = await ctx.client().get<Release>(`/api/v1/images/${encodeURIComponent(o.image)}/release`)
      const req: UpgradeRequest = {
        imageName: release.name,
        imageVersion: release.version,
        manifest: Buffer.from(release.manifest, 'utf8'),
        manifestSignature: release.signature,
        imageUrl: release.artifactUrl,
        force: o.force === true,
        healthTimeoutS: o.healthTimeout
      }
      await runUnary(ctx, async (c, node) => await follow(c, node, await c.upgrade(req), o), OPERATION_VIEW)
    })
  program.command('rollback').description('boot the other, committed slot from the next boot on, then reboot; prints the operation' + on)
    .option('--wait', 'follow the operation across the reboot until it is final')
    .option('--timeout <duration>', 'how long --wait waits', duration, 900)
    .action(async (o: { wait?: boolean, timeout: number }) => {
      await runUnary(ctx, async (c, node) => await follow(c, node, await c.rollback(), o), OPERATION_VIEW)
    })
  // `anvil operations` is Anvil's own (list | show | watch): the node's are `node-operations`.
  program.command('node-operations').description('the node\'s own operations, newest first (kept across reboots in STATE), or one by id' + on)
    .argument('[id]')
    .action(async (id: string | undefined) => {
      if (id === undefined) await runUnary(ctx, async c => await c.operations(), OPERATIONS_VIEW)
      else await runUnary(ctx, async c => { const r = await c.getOperation(id); return { operations: r.operation === null ? [] : [r.operation] } }, OPERATIONS_VIEW)
    })
}
