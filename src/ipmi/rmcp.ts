import type { BufferReader } from '../lib/buffer-reader.ts'
import type { BufferWriter } from '../lib/buffer-writer.ts'

/** IPMI v2.0 §13.1.3 / ASF 2.0 §3.2.2.1: the only RMCP version (1.0) is sent as 06h. */
export const RMCP_VERSION = 0x06

/** RMCP sequence number FFh: "no RMCP ACK" (IPMI v2.0 §13.1.3: IPMI messages never use RMCP ACKs). */
export const RMCP_NO_ACK_SEQUENCE = 0xff

/** IPMI v2.0 §13.1.3 Table 13-1: RMCP message classes Anvil speaks. */
export const RmcpClass = {
  asf: 0x06,
  ipmi: 0x07
} as const
export type RmcpClass = typeof RmcpClass[keyof typeof RmcpClass]

/** A decoded RMCP header. */
export type RmcpHeader = {
  readonly sequence: number
  /** Bit 7 of the class byte: this is an RMCP ACK, not a data message. */
  readonly ack: boolean
  readonly messageClass: number
}

/** The 4-byte RMCP header's length. */
export const RMCP_HEADER_LENGTH = 4

/*
 * IPMI v2.0 §13.1.3 RMCP header:
 *   0  version (06h)
 *   1  reserved (00h)
 *   2  sequence number (FFh for IPMI: no ACK requested)
 *   3  class of message: bit 7 ACK, bits 4:0 class (06h ASF, 07h IPMI)
 */

/** Write an RMCP data-message header of the given class. */
export function writeRmcpHeader (w: BufferWriter, messageClass: RmcpClass, sequence = RMCP_NO_ACK_SEQUENCE): void {
  w.u8(RMCP_VERSION).u8(0x00).u8(sequence).u8(messageClass)
}

/** Read and check an RMCP header; anything but version 06h is not RMCP we understand. */
export function readRmcpHeader (r: BufferReader): RmcpHeader {
  const version = r.u8('RMCP version')
  if (version !== RMCP_VERSION) r.fail(`RMCP version 0x${version.toString(16)} is not 0x06`)
  r.u8('RMCP reserved')
  const sequence = r.u8('RMCP sequence')
  const cls = r.u8('RMCP class')
  return { sequence, ack: (cls & 0x80) !== 0, messageClass: cls & 0x1f }
}
