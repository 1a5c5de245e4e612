import type { EventType } from './event-types.ts'

/** Where a timeline event came from. */
export const EventSource = { dhcp: 'dhcp', tftp: 'tftp', http: 'http', api: 'api', inventory: 'inventory', power: 'power' } as const
export type EventSource = typeof EventSource[keyof typeof EventSource]

/**
 * One step of a machine's boot, with the reason for what we did. Transports that see a machine
 * before it is in the inventory (DHCP, TFTP) name it by MAC or IP; the sink attaches the event to
 * the machine, now or when the machine is recorded.
 */
export type BootEvent = {
  readonly source: EventSource
  /** Dotted type from the catalogue (src/inventory/event-types.ts), e.g. dhcp.offer, tftp.transfer, http.script */
  readonly type: EventType
  /** One sentence: what happened and why ("offered snponly.efi: client arch 7 is UEFI x86-64"). */
  readonly message: string
  readonly mac?: string
  readonly ip?: string
  readonly machineId?: string
  readonly data?: Record<string, unknown>
}

/**
 * The port transports record timeline events through. record() must not block the caller:
 * implementations buffer and write in batches.
 */
export interface BootEventSink {
  record (event: BootEvent): void
  /** Learn which MAC holds an IP (from DHCP), so a later TFTP or HTTP event by IP finds its machine. */
  noteAddress (mac: string, ip: string): void
}
