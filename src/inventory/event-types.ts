/**
 * Every type of timeline event, in one place: what `anvil machines timeline` can show and what
 * tools may filter on. A type not listed here does not type-check where events are recorded.
 */
export const EventType = {
  // DHCP (src/dhcp/)
  dhcpOffer: 'dhcp.offer',
  dhcpAck: 'dhcp.ack',
  dhcpNak: 'dhcp.nak',
  dhcpRelease: 'dhcp.release',
  dhcpDecline: 'dhcp.decline',
  dhcpInform: 'dhcp.inform',
  dhcpIgnored: 'dhcp.ignored',
  dhcpObserved: 'dhcp.observed',
  dhcpExpired: 'dhcp.expired',
  // TFTP (src/tftp/)
  tftpTransfer: 'tftp.transfer',
  tftpFailed: 'tftp.failed',
  tftpRefused: 'tftp.refused',
  tftpSize: 'tftp.size',
  // HTTP boot (src/http/boot-app.ts)
  httpChain: 'http.chain',
  httpScript: 'http.script',
  httpAsset: 'http.asset',
  httpRefused: 'http.refused',
  // The inventory and the lifecycle
  machineDiscovered: 'machine.discovered',
  machineEnrolled: 'machine.enrolled',
  machineIdentity: 'machine.identity',
  machineNic: 'machine.nic',
  machineState: 'machine.state',
  /** New machines from unknown MACs came faster than discovery.newMachineRate allows. */
  machineRateLimited: 'machine.rate-limited',
  // Discovery agents (src/provisioning/agent-service.ts)
  agentConnected: 'agent.connected',
  agentReconnected: 'agent.reconnected',
  agentRefused: 'agent.refused',
  agentHardware: 'agent.hardware',
  agentDisconnected: 'agent.disconnected',
  agentCutOff: 'agent.cut-off',
  /** A session's progress or result about a task that was not handed to it: dropped. */
  agentIgnored: 'agent.ignored',
  // Tasks
  taskBoot: 'task.boot',
  taskCancelled: 'task.cancelled',
  /** A running task went back to the queue (its agent session ended and did not resume it). */
  taskRequeued: 'task.requeued',
  wipeStarted: 'wipe.started',
  wipeProgress: 'wipe.progress',
  wipeDone: 'wipe.done',
  wipeFailed: 'wipe.failed',
  /** An operator asked for an install: image, disk, config generation. */
  installQueued: 'install.queued',
  installStarted: 'install.started',
  installProgress: 'install.progress',
  /** The image and config are on the disk, verified, and the disk was made bootable. */
  installWritten: 'install.written',
  installFailed: 'install.failed',
  /** The installed node reported in from its disk (or a report was refused: node.refused). */
  nodeReported: 'node.reported',
  nodeRefused: 'node.refused',
  /** Anvil's node CA issued a node's apid server certificate (its trustd asked, signed with its identity key). */
  nodeCertified: 'node.certified',
  /** The node committed an upgraded slot (its NodeNotice), or its trial boot failed and it rolled back. */
  nodeUpgraded: 'node.upgraded',
  nodeRolledBack: 'node.rolled_back',
  /** The node is resetting itself (its NodeNotice): the machine moves to resetting. */
  nodeReset: 'node.reset',
  /** A fleet upgrade (anvil machines upgrade): started, one machine done, stopped or finished. */
  rolloutStarted: 'rollout.started',
  rolloutMachine: 'rollout.machine',
  rolloutDone: 'rollout.done',
  rebootQueued: 'reboot.queued',
  rebootStarted: 'reboot.started',
  rebootDone: 'reboot.done',
  powerOffQueued: 'powerOff.queued',
  powerOffStarted: 'powerOff.started',
  powerOffDone: 'powerOff.done',
  // Power (src/power/)
  powerAction: 'power.action',
  powerBootDevice: 'power.boot-device',
  powerError: 'power.error',
  bmcSet: 'bmc.set',
  bmcRemoved: 'bmc.removed'
} as const
export type EventType = typeof EventType[keyof typeof EventType]

/** Every event type, for tests and documentation. */
export const EVENT_TYPES: readonly EventType[] = Object.values(EventType)
