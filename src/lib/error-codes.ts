/**
 * Every stable error code, in one place, with what it means. Transports map codes to their own
 * statuses once (src/http/errors.ts, src/grpc/errors.ts); the CLI prints the code. A code not
 * listed here does not type-check in a CodedError.
 */
export const ErrorCode = {
  // Requests and validation
  validation: 'ERR_VALIDATION',
  badRequest: 'ERR_BAD_REQUEST',
  usage: 'ERR_USAGE',
  unauthorized: 'ERR_UNAUTHORIZED',
  forbidden: 'ERR_FORBIDDEN',
  routeNotFound: 'ERR_ROUTE_NOT_FOUND',
  internal: 'ERR_INTERNAL',
  invalidMac: 'ERR_INVALID_MAC',
  invalidIpv4: 'ERR_INVALID_IPV4',
  invalidCidr: 'ERR_INVALID_CIDR',
  invalidRange: 'ERR_INVALID_RANGE',
  invalidUuid: 'ERR_INVALID_UUID',
  invalidDuration: 'ERR_INVALID_DURATION',
  invalidArgValue: 'ERR_INVALID_ARG_VALUE',
  // Configuration and start
  invalidConfig: 'ERR_INVALID_CONFIG',
  configUnreadable: 'ERR_CONFIG_UNREADABLE',
  tokenUnreadable: 'ERR_TOKEN_UNREADABLE',
  secretUnreadable: 'ERR_SECRET_UNREADABLE',
  listen: 'ERR_LISTEN',
  notListening: 'ERR_NOT_LISTENING',
  serverStopping: 'ERR_SERVER_STOPPING',
  // The inventory and the lifecycle
  machineNotFound: 'ERR_MACHINE_NOT_FOUND',
  machineExists: 'ERR_MACHINE_EXISTS',
  ambiguousMachine: 'ERR_AMBIGUOUS_MACHINE',
  /** The lifecycle refused the change in the machine's current state (or lost a race to another). */
  invalidState: 'ERR_INVALID_STATE',
  notAccepted: 'ERR_NOT_ACCEPTED',
  noHardware: 'ERR_NO_HARDWARE',
  /** Unknown MACs arrive faster than discovery.newMachinesPerMinute: retry later. */
  rateLimited: 'ERR_RATE_LIMITED',
  /** A hardware report over its size caps (a field, a list, or the whole). */
  reportTooLarge: 'ERR_REPORT_TOO_LARGE',
  // Tasks
  taskPending: 'ERR_TASK_PENDING',
  taskNotFound: 'ERR_TASK_NOT_FOUND',
  taskFinished: 'ERR_TASK_FINISHED',
  wipeFailed: 'ERR_WIPE_FAILED',
  // Machine config
  /** A machine config document is not valid; `details.issues` lists every problem with its key path. */
  machineConfigInvalid: 'ERR_MACHINE_CONFIG_INVALID',
  /** A machine config file could not be read (missing, unreadable, not UTF-8). */
  machineConfigUnreadable: 'ERR_MACHINE_CONFIG_UNREADABLE',
  /** No disk of the machine matches install.disk (the message lists the machine's disks). */
  installDiskNone: 'ERR_INSTALL_DISK_NONE',
  /** Several disks match install.disk (the message lists them): the selector must pick one. */
  installDiskAmbiguous: 'ERR_INSTALL_DISK_AMBIGUOUS',
  // Boot assets and packets
  assetNotFound: 'ERR_ASSET_NOT_FOUND',
  pathTraversal: 'ERR_PATH_TRAVERSAL',
  malformedPacket: 'ERR_MALFORMED_PACKET',
  tftpNetasciiTooLarge: 'ERR_TFTP_NETASCII_TOO_LARGE',
  dhcpFieldTooLong: 'ERR_DHCP_FIELD_TOO_LONG',
  dhcpReplyTooLarge: 'ERR_DHCP_REPLY_TOO_LARGE',
  dhcpInterface: 'ERR_DHCP_INTERFACE',
  dhcpNoLeaseStore: 'ERR_DHCP_NO_LEASE_STORE',
  // The agents' channel (gRPC)
  agentTokenMissing: 'ERR_AGENT_TOKEN_MISSING',
  agentTokenInvalid: 'ERR_AGENT_TOKEN_INVALID',
  agentTokenUsed: 'ERR_AGENT_TOKEN_USED',
  agentProtocol: 'ERR_AGENT_PROTOCOL',
  agentHelloTimeout: 'ERR_AGENT_HELLO_TIMEOUT',
  agentCancelled: 'ERR_AGENT_CANCELLED',
  agentSessionEnded: 'ERR_AGENT_SESSION_ENDED',
  agentCmdline: 'ERR_AGENT_CMDLINE',
  /** The token or credential was used from an address it is not bound to. */
  agentAddress: 'ERR_AGENT_ADDRESS',
  /** The hello named a boot MAC that is not the machine's. */
  agentBootMac: 'ERR_AGENT_BOOT_MAC',
  /** The session credential is unknown, expired or revoked. */
  agentSessionInvalid: 'ERR_AGENT_SESSION_INVALID',
  /** Another live session holds the machine (the first keeps it until it is gone): retry later. */
  agentSessionHeld: 'ERR_AGENT_SESSION_HELD',
  /** A hello field is over its length cap. */
  agentHelloInvalid: 'ERR_AGENT_HELLO_INVALID',
  sessionEnded: 'ERR_SESSION_ENDED',
  tlsHandshake: 'ERR_TLS_HANDSHAKE',
  tlsPinInvalid: 'ERR_TLS_PIN_INVALID',
  tlsPinMismatch: 'ERR_TLS_PIN_MISMATCH',
  // Power (any BMC protocol: IPMI today, Redfish beside it)
  noBmc: 'ERR_NO_BMC',
  invalidBmc: 'ERR_INVALID_BMC',
  bmcAuth: 'ERR_BMC_AUTH',
  bmcCipherUnsupported: 'ERR_BMC_CIPHER_UNSUPPORTED',
  bmcUnreachable: 'ERR_BMC_UNREACHABLE',
  bmcCompletion: 'ERR_BMC_COMPLETION',
  bmcProtocol: 'ERR_BMC_PROTOCOL',
  bmcReadBack: 'ERR_BMC_READBACK',
  bmcSessionClosed: 'ERR_BMC_SESSION_CLOSED',
  // Signing (src/signing/: minisign-format Ed25519 signatures over image manifests and machine configs)
  /** A signature file that is not minisign's four lines: truncated, garbage, over 4 KiB, or an unknown algorithm. */
  signatureMalformed: 'ERR_SIGNATURE_MALFORMED',
  /** The signature does not verify over these bytes with the key it names: the file or the signature was changed. */
  signatureInvalid: 'ERR_SIGNATURE_INVALID',
  /** The signature's key id is not the given public key's (or, with several trusted keys, any of theirs). */
  signatureKeyMismatch: 'ERR_SIGNATURE_KEY_MISMATCH',
  /** The global signature over signature || trusted comment fails: the trusted comment was edited. */
  signatureCommentInvalid: 'ERR_SIGNATURE_COMMENT_INVALID',
  /** The trusted comment is authentic but not what this kind of signature carries (an image's where a config's belongs). */
  signatureCommentUnexpected: 'ERR_SIGNATURE_COMMENT_UNEXPECTED',
  /** A public or secret key not in minisign's format (or whose two halves do not match). */
  signingKeyMalformed: 'ERR_SIGNING_KEY_MALFORMED',
  /** A password-protected (scrypt) minisign secret key: Anvil reads unencrypted ones only (minisign -W). */
  signingKeyEncrypted: 'ERR_SIGNING_KEY_ENCRYPTED',
  /** A key file that cannot be read, or a key pair only half on disk (a public key without its secret key). */
  signingKeyUnreadable: 'ERR_SIGNING_KEY_UNREADABLE',
  /** A machine config signed for another machine. */
  configWrongMachine: 'ERR_CONFIG_WRONG_MACHINE',
  /** A machine config of a generation older than the one the node holds: a replay. */
  configReplayed: 'ERR_CONFIG_REPLAYED',
  /** A machine config past the expiry it was signed with. */
  configExpired: 'ERR_CONFIG_EXPIRED',
  /** A chunk of an image artifact whose sha256 is not the manifest's (details: chunk index and byte offset). */
  imageChunkMismatch: 'ERR_IMAGE_CHUNK_MISMATCH',
  /** An image artifact longer or shorter than the manifest's size. */
  imageSizeMismatch: 'ERR_IMAGE_SIZE_MISMATCH',
  /** An image artifact whose whole sha256 is not the manifest's. */
  imageHashMismatch: 'ERR_IMAGE_HASH_MISMATCH',
  // Images
  imageNotFound: 'ERR_IMAGE_NOT_FOUND',
  /** A name and version is imported once: images are never modified in place. */
  imageExists: 'ERR_IMAGE_EXISTS',
  /** The manifest is known but its artifact has not been uploaded (or did not verify). */
  imageNotReady: 'ERR_IMAGE_NOT_READY',
  // The install (issue 10)
  /** No ready image of that name (and version) to install. */
  imageUnavailable: 'ERR_IMAGE_UNAVAILABLE',
  /** The install disk is smaller than the image (or its slots' minimum). */
  installDiskTooSmall: 'ERR_INSTALL_DISK_TOO_SMALL',
  /** The disk the install was planned for is gone, or is another disk now (serial, WWN or size changed). */
  installDiskChanged: 'ERR_INSTALL_DISK_CHANGED',
  /** The image could not be fetched (HTTP status, connection lost past every resume). */
  imageFetch: 'ERR_IMAGE_FETCH',
  /** What was written did not read back as the manifest says: a bad disk or controller. */
  installReadback: 'ERR_INSTALL_READBACK',
  /** A STATE partition with no valid record (both copies torn, empty or of another format). */
  stateInvalid: 'ERR_STATE_INVALID',
  /** A node report without a token, or with one Anvil never issued (or that expired). */
  nodeTokenInvalid: 'ERR_NODE_TOKEN_INVALID',
  /** A node report with a token already spent by an earlier report. */
  nodeTokenUsed: 'ERR_NODE_TOKEN_USED',
  /** A node report whose proof does not verify with the key it carries, or that names another machine or generation. */
  nodeProofInvalid: 'ERR_NODE_PROOF_INVALID',
  /** No operation (task) with that id. */
  operationNotFound: 'ERR_OPERATION_NOT_FOUND',
  /** An operation the CLI waited for ended failed or cancelled (the message holds its error). */
  operationFailed: 'ERR_OPERATION_FAILED',
  // The node API (apid, machined, trustd) and its certificates (issue 11)
  /** The caller's certificate role may not call this node API method (a reader asking to reboot). */
  nodeRoleDenied: 'ERR_NODE_ROLE_DENIED',
  /** A client certificate without a role (`O=` admin, operator or reader) or without the clientAuth EKU. */
  nodeCertInvalid: 'ERR_NODE_CERT_INVALID',
  /** No service with that id on the node. */
  nodeServiceUnknown: 'ERR_NODE_SERVICE_UNKNOWN',
  /** machined (behind apid) or the node itself could not be reached. */
  nodeUnreachable: 'ERR_NODE_UNREACHABLE',
  /** The node is already carrying out an upgrade, a rollback or a reset. */
  nodeBusy: 'ERR_NODE_BUSY',
  /** An upgrade to a lower security version, or to an older or the same version without force. */
  imageDowngrade: 'ERR_IMAGE_DOWNGRADE',
  /** A rollback with no committed slot to go back to. */
  nodeNoRollback: 'ERR_NODE_NO_ROLLBACK',
  /** A fleet upgrade stopped: one of its machines failed (the message says which and why). */
  rolloutFailed: 'ERR_ROLLOUT_FAILED',
  /** A certificate role other than admin, operator or reader. */
  certRoleInvalid: 'ERR_CERT_ROLE_INVALID',
  /** A certificate lifetime outside what the CA issues (see docs/node-api.md). */
  certTtlInvalid: 'ERR_CERT_TTL_INVALID',
  /** A public key the CA does not sign (not Ed25519 SPKI, or unreadable). */
  certKeyInvalid: 'ERR_CERT_KEY_INVALID',
  /** No CLI context of that name (anvil context list). */
  contextNotFound: 'ERR_CONTEXT_NOT_FOUND',
  // The CLI talking to the API
  /** The operator pressed Ctrl-C while the CLI waited (what it waited for goes on): exit status 130. */
  interrupted: 'ERR_INTERRUPTED',
  apiUnreachable: 'ERR_API_UNREACHABLE',
  apiResponse: 'ERR_API_RESPONSE'
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

const KNOWN = new Set<string>(Object.values(ErrorCode))

/** True for a string that is one of our codes (the CLI checks what an API answered). */
export function isErrorCode (code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN.has(code)
}
