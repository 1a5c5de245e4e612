import {
  getClientArches, getClientUuid, getUserClasses, getVendorClass, hasIpxeOptions, type DhcpOptions
} from './options.ts'

/** What kind of network-boot client sent a message. */
export const ClientKind = {
  /** Not booting from the network: an OS DHCP client. Proxy mode ignores it. */
  None: 'none',
  /** PXE firmware (BIOS ROM or UEFI PXE): boots a first stage over TFTP. */
  Pxe: 'pxe',
  /** UEFI HTTP boot: fetches its first stage from a URL. */
  Http: 'http',
  /** iPXE, loaded already: gets the HTTP script URL, which ends the chainload loop. */
  Ipxe: 'ipxe'
} as const
export type ClientKind = typeof ClientKind[keyof typeof ClientKind]

/** RFC 4578 §2.1 and the IANA "Processor Architecture Types" registry, the values we name. */
export const CLIENT_ARCH_NAMES: Readonly<Record<number, string>> = {
  0: 'x86 BIOS',
  2: 'EFI Itanium',
  6: 'UEFI IA32',
  7: 'UEFI x86-64',
  9: 'UEFI x86-64',
  10: 'UEFI ARM32',
  11: 'UEFI ARM64',
  15: 'UEFI IA32 HTTP',
  16: 'UEFI x86-64 HTTP',
  18: 'UEFI ARM32 HTTP',
  19: 'UEFI ARM64 HTTP'
}

/** What we learned about the client from its options. */
export type ClientInfo = {
  readonly kind: ClientKind
  /** Option 93's first value, else the arch in "PXEClient:Arch:xxxxx". */
  readonly arch: number | undefined
  readonly vendorClass: string | undefined
  readonly userClasses: readonly string[]
  /** Option 97 (RFC 4578 §2.3), as sent. */
  readonly uuid: string | undefined
}

const VENDOR_ARCH_RE = /^(?:PXEClient|HTTPClient):Arch:(\d{5})/

/** Classifies a client as not-PXE, PXE firmware, UEFI HTTP boot or iPXE (PXE 2.1 §2.2, RFC 4578). */
export function classifyClient (options: DhcpOptions): ClientInfo {
  const vendorClass = getVendorClass(options)
  const userClasses = getUserClasses(options)
  const uuid = getClientUuid(options)
  const fromVendor = vendorClass === undefined ? undefined : VENDOR_ARCH_RE.exec(vendorClass)?.[1]
  const arch = getClientArches(options)[0] ?? (fromVendor === undefined ? undefined : Number(fromVendor))
  let kind: ClientKind = ClientKind.None
  // iPXE first: a chainloaded iPXE still says PXEClient and option 93 like the ROM before it.
  if (userClasses.includes('iPXE') || hasIpxeOptions(options)) kind = ClientKind.Ipxe
  else if (vendorClass?.startsWith('HTTPClient') === true) kind = ClientKind.Http
  else if (vendorClass?.startsWith('PXEClient') === true) kind = ClientKind.Pxe
  else if (arch !== undefined) kind = isHttpArch(arch) ? ClientKind.Http : ClientKind.Pxe
  return { kind, arch, vendorClass, userClasses, uuid }
}

function isHttpArch (arch: number): boolean {
  return arch === 15 || arch === 16 || arch === 18 || arch === 19
}

/** Human name of an RFC 4578 architecture for timeline messages. */
export function archName (arch: number | undefined): string {
  if (arch === undefined) return 'unknown architecture'
  return CLIENT_ARCH_NAMES[arch] ?? `architecture ${arch}`
}

/** Boot files and URLs the decision picks from (dhcp.* config keys plus the HTTP base). */
export type BootChoices = {
  readonly biosBootFile: string
  readonly efiX64BootFile: string
  readonly efiArm64BootFile: string
  /** Whether the arm64 first stage exists among the boot assets. */
  readonly arm64Available: boolean
  /** e.g. http://10.77.0.1:8080, no trailing slash. */
  readonly httpBaseUrl: string
}

/** What to tell a network-boot client, with the reason that goes into its timeline. */
export type BootDecision =
  | {
    readonly action: 'boot'
    /** The TFTP file name or the HTTP URL put in `file` (and option 67 when too long). */
    readonly bootFile: string
    /** Option 60 in the reply (PXE 2.1 §2.4.2; UEFI 2.x §24.7 for HTTPClient). */
    readonly vendorClass: 'PXEClient' | 'HTTPClient'
    /** True when the file comes over TFTP from siaddr; false for URLs. */
    readonly tftp: boolean
    readonly reason: string
  }
  | { readonly action: 'decline', readonly reason: string }

/** Paths HTTP serves the script and the assets under; the contract test relies on both. */
export const IPXE_SCRIPT_PATH = '/boot.ipxe'
export const HTTP_ASSETS_PREFIX = '/assets/'

/** Decides the boot file for a classified client. Pure: asset presence is passed in. */
export function decideBoot (client: ClientInfo, c: BootChoices): BootDecision {
  const arch = client.arch
  const what = `client arch ${arch ?? '?'} is ${archName(arch)}`
  switch (client.kind) {
    case ClientKind.None:
      return { action: 'decline', reason: 'not a network-boot client (no PXEClient/HTTPClient vendor class, option 93 or iPXE user class)' }
    case ClientKind.Ipxe:
      return {
        action: 'boot',
        bootFile: `${c.httpBaseUrl}${IPXE_SCRIPT_PATH}`,
        vendorClass: 'PXEClient',
        tftp: false,
        reason: `client is iPXE (${client.userClasses.includes('iPXE') ? 'user class "iPXE"' : 'option 175'}): sent the HTTP script, which ends the chainload loop`
      }
    case ClientKind.Http:
      if (arch === 19 || arch === 11) {
        if (!c.arm64Available) return { action: 'decline', reason: `${what} over HTTP, but ${c.efiArm64BootFile} is not among the boot assets` }
        return httpBoot(c, c.efiArm64BootFile, `${what} over HTTP`)
      }
      if (arch === undefined || arch === 16 || arch === 7 || arch === 9) return httpBoot(c, c.efiX64BootFile, `${what} over HTTP`)
      return { action: 'decline', reason: `${what} over HTTP: no boot file for it` }
    case ClientKind.Pxe:
      return pxeBoot(client, c, what)
  }
}

function httpBoot (c: BootChoices, file: string, why: string): BootDecision {
  return {
    action: 'boot',
    bootFile: `${c.httpBaseUrl}${HTTP_ASSETS_PREFIX}${file}`,
    vendorClass: 'HTTPClient',
    tftp: false,
    reason: `${why}: sent the ${file} URL`
  }
}

function pxeBoot (client: ClientInfo, c: BootChoices, what: string): BootDecision {
  const tftp = (bootFile: string, why: string): BootDecision => ({ action: 'boot', bootFile, vendorClass: 'PXEClient', tftp: true, reason: why })
  switch (client.arch) {
    case undefined:
      // PXE 2.1 clients always send option 93; an older ROM without it is a BIOS ROM.
      return tftp(c.biosBootFile, 'PXE client without option 93, taken as x86 BIOS')
    case 0:
      return tftp(c.biosBootFile, what)
    case 7:
    case 9:
      return tftp(c.efiX64BootFile, what)
    case 11:
      if (!c.arm64Available) return { action: 'decline', reason: `${what}, but ${c.efiArm64BootFile} is not among the boot assets` }
      return tftp(c.efiArm64BootFile, what)
    default:
      return { action: 'decline', reason: `${what}: no boot file for it` }
  }
}
