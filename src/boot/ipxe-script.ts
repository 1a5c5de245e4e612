import type { Machine } from '../inventory/machine.ts'
import type { BootMessage, BootPlan } from '../provisioning/boot-planner.ts'

/**
 * The iPXE settings a machine reports on every script request. iPXE expands them before the
 * request (https://ipxe.org/cfg); `:uristring` percent-encodes free-text SMBIOS fields.
 */
/* eslint-disable no-template-curly-in-string -- these are iPXE settings, not JS templates */
const IDENTITY_QUERY = [
  'uuid=${uuid}',
  'mac=${net0/mac}',
  'serial=${serial:uristring}',
  'manufacturer=${manufacturer:uristring}',
  'product=${product:uristring}',
  'platform=${platform}',
  'buildarch=${buildarch}'
].join('&')
/* eslint-enable no-template-curly-in-string */

/** The URL iPXE re-requests with its identity filled in. */
export function identityUrl (baseUrl: string): string {
  return `${baseUrl}/boot.ipxe?${IDENTITY_QUERY}`
}

/**
 * What DHCP's script URL returns before we know who is asking: a two-line script that makes iPXE
 * report its SMBIOS identity and MAC as query parameters.
 */
export function renderChainScript (baseUrl: string): string {
  return [
    '#!ipxe',
    '# Anvil: report this machine\'s identity, then fetch its own script.',
    `chain --autofree --replace ${identityUrl(baseUrl)}`,
    ''
  ].join('\n')
}

/** A script for a machine we have not recorded yet (held back by the new-machine limit): wait, ask again. */
export function renderWaitScript (message: BootMessage, seconds: number, baseUrl: string): string {
  return ['#!ipxe', `echo Anvil: ${message}`, `sleep ${Math.floor(seconds)}`, `chain --autofree --replace ${identityUrl(baseUrl)}`, ''].join('\n')
}

/** What the discovery environment needs to find and trust the server (discovery-common kernel line). */
export type AgentBoot = {
  /** host:port of the provisioning gRPC listener. */
  readonly grpc: string
  /** A single-use token bound to this machine. */
  readonly token: string
  /** Lower-case hex SHA-256 of the gRPC server certificate (DER). */
  readonly fingerprint: string
}

/** Boot environment files, under the boot assets. */
export const BOOTENV_KERNEL = 'bootenv/vmlinuz'
export const BOOTENV_INITRD = 'bootenv/initramfs.zst'

/**
 * What a script may say about the machine: its id (ours, `m-` and base32) and its state (a
 * lifecycle name). Anything else is refused: nothing a machine reported ever reaches a script.
 */
const SCRIPT_SAFE = /^[a-z0-9-]{1,64}$/

/** Values that go into kernel arguments: base64url tokens, hex, host:port. */
const ARG_SAFE = /^[A-Za-z0-9_.:[\]-]{1,512}$/

function safe (value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new Error(`refusing to render ${what} ${JSON.stringify(value)} into an iPXE script`)
  return value
}

/**
 * The machine's script, rendered from the boot plan (`agent` is required when the plan runs the
 * agent). Every line is fixed text, the plan's fixed message, or a value checked against a strict
 * pattern: iPXE runs `;`, `&&` and `||` as command separators, so free text never goes in.
 */
export function renderMachineScript (machine: Pick<Machine, 'id' | 'state'>, decision: BootPlan, baseUrl: string, agent?: AgentBoot): string {
  const id = safe(machine.id, SCRIPT_SAFE, 'machine id')
  const state = safe(machine.state, SCRIPT_SAFE, 'state')
  const head = [
    '#!ipxe',
    `# Anvil: machine ${id}, state ${state}`,
    `echo Anvil: this is machine ${id} (${state})`,
    `echo Anvil: ${decision.message}`
  ]
  switch (decision.kind) {
    case 'wait':
      return [
        ...head,
        `echo Anvil: checking again in ${decision.recheckSeconds} s`,
        `sleep ${decision.recheckSeconds}`,
        `chain --autofree --replace ${identityUrl(baseUrl)}`,
        ''
      ].join('\n')
    case 'local-disk':
      // `exit` hands control back to the firmware, which tries its next boot device (the disk).
      return [...head, 'exit', ''].join('\n')
    case 'install':
    case 'bootenv': {
      if (agent === undefined) throw new Error('a bootenv script needs the agent\'s token and server')
      const initrdName = BOOTENV_INITRD.slice(BOOTENV_INITRD.lastIndexOf('/') + 1)
      // initrd=<name>: EFI kernels find the initramfs by this name (LAB-NOTES, "UEFI").
      // BOOTIF: the NIC iPXE booted from (netX), in pxelinux's format, for the environment's DHCP.
      /* eslint-disable-next-line no-template-curly-in-string -- an iPXE setting */
      const bootif = 'BOOTIF=01-${netX/mac:hexhyp}'
      const args = [`initrd=${initrdName}`, `anvil.grpc=${safe(agent.grpc, ARG_SAFE, 'gRPC endpoint')}`, `anvil.token=${safe(agent.token, ARG_SAFE, 'token')}`, `anvil.fingerprint=${safe(agent.fingerprint, ARG_SAFE, 'fingerprint')}`, bootif, 'console=ttyS0', 'panic=-1', 'quiet']
      return [
        ...head,
        `kernel ${baseUrl}/assets/${BOOTENV_KERNEL} ${args.join(' ')}`,
        `initrd ${baseUrl}/assets/${BOOTENV_INITRD}`,
        'boot',
        // Only reached if boot failed: try again rather than fall through to another device.
        'echo Anvil: the discovery environment did not boot, retrying in 10 s',
        'sleep 10',
        `chain --autofree --replace ${identityUrl(baseUrl)}`,
        ''
      ].join('\n')
    }
  }
}
