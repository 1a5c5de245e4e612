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

/** The machine's script, rendered from the boot decision. */
export function renderMachineScript (machine: Machine, decision: BootDecision, baseUrl: string): string {
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
  }
}
