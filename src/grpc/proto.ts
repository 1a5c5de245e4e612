import { fileURLToPath } from 'node:url'
import { loadPackageDefinition } from '@grpc/grpc-js'
import { load, type Options } from '@grpc/proto-loader'
import type { ProtoGrpcType } from '../proto/generated/provisioning.ts'
import type { ProtoGrpcType as NodeProtoGrpcType } from '../proto/generated/node.ts'

/**
 * proto-loader options; they MUST equal the generator's flags in package.json (proto:gen), or
 * the generated types lie about the runtime objects (camelCase fields, enums as strings,
 * 64-bit integers as numbers, defaults filled in, the `body`/`kind` oneof discriminators).
 */
export const PROTO_LOADER_OPTIONS: Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true }

/** src/proto/provisioning.proto beside the sources (a bundle passes its own copy's path). */
export const DEFAULT_PROTO_FILE = fileURLToPath(new URL('../proto/provisioning.proto', import.meta.url))

/** Loads the provisioning package: `.anvil.provisioning.v1.Provisioning` is the service/client. */
export async function loadProvisioningProto (protoFile: string = DEFAULT_PROTO_FILE): Promise<ProtoGrpcType> {
  const definition = await load(protoFile, PROTO_LOADER_OPTIONS)
  return loadPackageDefinition(definition) as unknown as ProtoGrpcType
}

/** src/proto/node.proto beside the sources (the node image bundles its own copy). */
export const DEFAULT_NODE_PROTO_FILE = fileURLToPath(new URL('../proto/node.proto', import.meta.url))

/** Loads the node API package: `.anvil.node.v1.Node` is the service/client (apid, machined, the CLI). */
export async function loadNodeProto (protoFile: string = DEFAULT_NODE_PROTO_FILE): Promise<NodeProtoGrpcType> {
  const definition = await load(protoFile, PROTO_LOADER_OPTIONS)
  return loadPackageDefinition(definition) as unknown as NodeProtoGrpcType
}
