/**
 * What the node's first-boot program reads from /proc/cmdline. GRUB writes `anvil.slot=A|B` and
 * `anvil.try=0|1` (src/image/grub.ts grubCfg); `anvil.halt=poweroff|wait` is for tests and the
 * lab: power off once the node has reported in, or stay up even when it stopped without a report.
 * Pure: the caller reads the file.
 */
export type NodeCmdline = {
  readonly slot: 'A' | 'B' | undefined
  readonly try: boolean
  readonly halt: 'poweroff' | 'wait' | undefined
}

/** Parses the kernel command line; unknown or malformed words are ignored. */
export function parseNodeCmdline (text: string): NodeCmdline {
  const args = new Map<string, string>()
  for (const word of text.trim().split(/\s+/)) {
    const eq = word.indexOf('=')
    if (eq > 0) args.set(word.slice(0, eq), word.slice(eq + 1))
  }
  const slot = args.get('anvil.slot')
  const halt = args.get('anvil.halt')
  return {
    slot: slot === 'A' || slot === 'B' ? slot : undefined,
    try: args.get('anvil.try') === '1',
    halt: halt === 'poweroff' || halt === 'wait' ? halt : undefined
  }
}
