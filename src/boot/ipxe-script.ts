import type { Machine } from '../inventory/machine.ts'
import type { BootDecision } from '../provisioning/boot-decision.ts'

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

/** iPXE `echo` prints its arguments literally except for ${...}; keep messages free of those. */
function echoSafe (text: string): string {
  return text.replace(/\$\{/g, '$ {').replace(/[\r\n]+/g, ' ')
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

/** The machine's script, rendered from the boot decision (`agent` is required for a bootenv decision). */
export function renderMachineScript (machine: Machine, decision: BootDecision, baseUrl: string, agent?: AgentBoot): string {
  const head = [
    '#!ipxe',
    `# Anvil: machine ${machine.id}, state ${machine.state}`,
    `echo Anvil: this is machine ${machine.id} (${machine.state})`,
    `echo Anvil: ${echoSafe(decision.reason)}`
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
    case 'bootenv': {
      if (agent === undefined) throw new Error('a bootenv script needs the agent\'s token and server')
      const initrdName = BOOTENV_INITRD.slice(BOOTENV_INITRD.lastIndexOf('/') + 1)
      // initrd=<name>: EFI kernels find the initramfs by this name (LAB-NOTES, "UEFI").
      // BOOTIF: the NIC iPXE booted from (netX), in pxelinux's format, for the environment's DHCP.
      /* eslint-disable-next-line no-template-curly-in-string -- an iPXE setting */
      const bootif = 'BOOTIF=01-${netX/mac:hexhyp}'
      const args = [`initrd=${initrdName}`, `anvil.grpc=${agent.grpc}`, `anvil.token=${agent.token}`, `anvil.fingerprint=${agent.fingerprint}`, bootif, 'console=ttyS0', 'panic=-1', 'quiet']
      return [
        ...head,
        `kernel ${baseUrl}/assets/${BOOTENV_KERNEL} ${args.join(' ')}`,
        `initrd ${baseUrl}/assets/${BOOTENV_INITRD}`,
        'boot',
        // Only reached if boot failed: try again rather than fall through to another device.
        'echo Anvil: the discovery environment did not boot; retrying in 10 s',
        'sleep 10',
        `chain --autofree --replace ${identityUrl(baseUrl)}`,
        ''
      ].join('\n')
    }
  }
}
