import { CodedError, isCodedError } from '../lib/errors.ts'
import { loadNodeProto } from '../grpc/proto.ts'
import type { ProtoGrpcType } from '../proto/generated/node.ts'
import type { ApiClient } from './client.ts'
import { currentContext } from './contexts.ts'
import { readNodeBundle, type NodeBundle } from './node-bundle.ts'
import { NodeApiClient } from './node-client.ts'
import { NodeResolver, parseEndpoint, splitTargets, type NodeAddress } from './node-targets.ts'

/** What one node answered, or why it did not: the element of `-o json|yaml` output. */
export type NodeOutcome<T> =
  | { readonly node: string, readonly result: T }
  | { readonly node: string, readonly error: { readonly code: string, readonly message: string } }

/** Everything a node verb needs: the targets, how to reach each, the credential. */
export type NodeSession = {
  /** As typed after -n (or the context's endpoint): the NODE column and the `node` of each outcome. */
  readonly targets: readonly string[]
  readonly resolve: (target: string) => Promise<NodeAddress>
  readonly proto: ProtoGrpcType
  readonly bundle: NodeBundle
  readonly deadlineMs?: number
}

/** What the CLI passes in: the `-n` values, $ANVIL_HOME, and the admin API client for names. */
export type NodeSessionInputs = {
  readonly nodes: readonly string[]
  readonly anvilHome: string
  readonly client: () => ApiClient
}

/**
 * The session of one command: the current context's credential, and the `-n` targets (addresses
 * dialled as they are, machine ids and names resolved through Anvil's API), else the context's
 * endpoint.
 */
export async function openNodeSession (inputs: NodeSessionInputs): Promise<NodeSession> {
  const targets = splitTargets(inputs.nodes)
  const { context } = await currentContext(inputs.anvilHome)
  const bundle = await readNodeBundle(context.cert)
  const proto = await loadNodeProto()
  if (targets.length === 0) {
    const address = parseEndpoint(context.endpoint)
    return { targets: [context.endpoint], resolve: async () => address, proto, bundle }
  }
  const resolver = new NodeResolver(inputs.client)
  return { targets, resolve: async (t) => await resolver.resolve(t), proto, bundle }
}

function errorOf (err: unknown): { code: string, message: string } {
  if (isCodedError(err)) return { code: err.code, message: err.message }
  return { code: 'ERR_INTERNAL', message: (err as Error).message ?? String(err) }
}

/**
 * `fn` on every target at once, each with its own client (closed after); one outcome per target, in
 * order. `onOutcome` hears each as it happens (a follow that runs until Ctrl-C reports a node that
 * failed at once, not at the end).
 */
export async function fanOut<T> (session: NodeSession, fn: (client: NodeApiClient, node: string) => Promise<T>, onOutcome?: (outcome: NodeOutcome<T>) => void): Promise<Array<NodeOutcome<T>>> {
  return await Promise.all(session.targets.map(async (node): Promise<NodeOutcome<T>> => {
    let client: NodeApiClient | undefined
    let outcome: NodeOutcome<T>
    try {
      const address = await session.resolve(node)
      client = new NodeApiClient({ proto: session.proto, address, bundle: session.bundle, ...(session.deadlineMs === undefined ? {} : { deadlineMs: session.deadlineMs }) })
      outcome = { node, result: await fn(client, node) }
    } catch (err) {
      outcome = { node, error: errorOf(err) }
    } finally {
      client?.close()
    }
    onOutcome?.(outcome)
    return outcome
  }))
}

export function failed<T> (outcomes: ReadonlyArray<NodeOutcome<T>>): Array<Extract<NodeOutcome<T>, { error: unknown }>> {
  return outcomes.filter((o): o is Extract<NodeOutcome<T>, { error: unknown }> => 'error' in o)
}

/**
 * The error the command ends with (exit 1) when any node failed, after the others' results were
 * printed: one node's own error as it is; for several, every failure by node, with the first one's
 * code (another code is named beside its failure). Undefined when every node answered.
 */
export function failureOf<T> (outcomes: ReadonlyArray<NodeOutcome<T>>): CodedError | undefined {
  const failures = failed(outcomes)
  const [first] = failures
  if (first === undefined) return undefined
  const code = first.error.code as CodedError['code']
  if (outcomes.length === 1) return new CodedError(code, first.error.message, { node: first.node })
  // The CLI prints the code after the message: a failure with that code needs no code of its own.
  const list = failures.map(f => `${f.node}: ${f.error.message}${f.error.code === code ? '' : ` [${f.error.code}]`}`).join('; ')
  return new CodedError(code, `${failures.length} of ${outcomes.length} nodes failed: ${list}`, { failures: failures.map(f => ({ node: f.node, ...f.error })) })
}
