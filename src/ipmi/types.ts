/**
 * One IPMI request as the commands layer builds it and the session layer carries it
 * (IPMI v2.0 §13.8: the LAN message's NetFn, command and data; the session adds addresses,
 * sequence numbers and checksums).
 */
export type IpmiRequest = {
  readonly netFn: number
  readonly cmd: number
  readonly data: Buffer
}

/**
 * What command helpers need from a session: send a request, get the response data that follows
 * a zero completion code. A non-zero completion code rejects with IpmiCompletionError.
 */
export interface IpmiTransport {
  request (req: IpmiRequest): Promise<Buffer>
}

/** IPMI v2.0 §5.1 Table 5-1: the network functions Anvil uses (requests; responses are +1). */
export const NetFn = {
  chassis: 0x00,
  app: 0x06,
  transport: 0x0c
} as const
export type NetFn = typeof NetFn[keyof typeof NetFn]
