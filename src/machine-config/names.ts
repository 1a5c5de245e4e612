import { formatIp, parseIp } from './ip.ts'

// Text rules shared by several keys of the machine config. Each check returns undefined when the
// text is good, else the reason (without repeating the value: the caller decides what to show).

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** RFC 1123 §2.1 host name: dot-separated labels of 1-63 letters, digits and inner hyphens, 253 in all. */
export function dnsNameProblem (text: string, opts: { wildcard?: boolean } = {}): string | undefined {
  if (text.length === 0) return 'is empty'
  if (text.length > 253) return `is ${text.length} characters long; a DNS name has at most 253 (RFC 1123)`
  const labels = text.toLowerCase().split('.')
  if (opts.wildcard === true && labels[0] === '*' && labels.length > 1) labels.shift()
  for (const label of labels) {
    if (label.length > 63) return 'has a label longer than 63 characters (RFC 1123)'
    if (!LABEL.test(label)) return 'is not a DNS name: labels of letters, digits and hyphens (not first or last), separated by dots (RFC 1123)'
  }
  // RFC 1123 §2.1: a name must not look like a dotted-decimal address; its top label is not all digits.
  if (labels.length > 1 && /^\d+$/.test(labels[labels.length - 1] as string)) return 'looks like an IP address but is not one'
  return undefined
}

/** A host name or an IP address, canonical (lower case; RFC 5952 for IPv6); or the reason it is neither. */
export function hostOrIp (text: string, opts: { wildcard?: boolean } = {}): { value: string } | { problem: string } {
  const ip = parseIp(text)
  if (ip !== undefined) return { value: formatIp(ip) }
  const problem = dnsNameProblem(text, opts)
  return problem === undefined ? { value: text.toLowerCase() } : { problem: `is neither an IP address nor a host name: it ${problem}` }
}

/**
 * A pattern for a kernel interface name: at most 15 characters (IFNAMSIZ 16 with the NUL,
 * include/uapi/linux/if.h) from what udev and the kernel use, `*` matching any run of them.
 * dev_valid_name() refuses `/`, `:` and whitespace.
 */
export function interfacePatternProblem (text: string): string | undefined {
  if (!/^[A-Za-z0-9_.@+*-]{1,15}$/.test(text)) return 'is not an interface name pattern: 1-15 of letters, digits, _ . @ + -, with * for any run'
  if (/^[.*]*$/.test(text)) return 'matches any interface; name a pattern such as enp* or select by mac'
  return undefined
}

/** The top-level directories of /proc/sys (Documentation/admin-guide/sysctl/). */
const SYSCTL_ROOTS = ['abi', 'crypto', 'debug', 'dev', 'fs', 'kernel', 'net', 'sunrpc', 'user', 'vm']
// A segment may hold `/` where the kernel object's own name has a dot (sysctl(8): eth0.100 is
// written eth0/100); every piece around a `/` is non-empty, so no key can climb out of /proc/sys.
const SYSCTL_SEGMENT = /^[A-Za-z0-9_@+:-]+(\/[A-Za-z0-9_@+:-]+)*$/

/** A sysctl key in dotted form, e.g. net.ipv4.ip_forward. */
export function sysctlKeyProblem (key: string): string | undefined {
  const segments = key.split('.')
  if (key.length > 256 || segments.length < 2 || !segments.every(s => SYSCTL_SEGMENT.test(s))) {
    return 'is not a sysctl key: dotted names such as net.ipv4.ip_forward (sysctl(8) notation)'
  }
  if (!SYSCTL_ROOTS.includes(segments[0] as string)) return `is not under a /proc/sys directory (${SYSCTL_ROOTS.join(', ')})`
  return undefined
}

/** How a value the user wrote appears in a message: as is when short and printable, else quoted and cut. */
export function show (value: unknown): string {
  const text = typeof value === 'string' ? value : String(value)
  if (/^[\x21-\x7e]{1,64}$/.test(text) && !text.includes('"')) return text
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}
