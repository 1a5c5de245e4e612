// Runs under the node image's stage-2 init (boot-assets/node-init/root-init) from the read-only
// root: prints the line the boot tests look for, then details on a second line. The slot and the
// try come from the kernel command line GRUB wrote (anvil.slot=, anvil.try=), the version from
// /etc/anvil/release.json, which the image build wrote into the root.
import { readFileSync } from 'node:fs'

const args = new Map(readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/).map(a => {
  const eq = a.indexOf('=')
  return eq < 0 ? [a, ''] : [a.slice(0, eq), a.slice(eq + 1)]
}))
const release = JSON.parse(readFileSync('/etc/anvil/release.json', 'utf8'))
const slot = args.get('anvil.slot') ?? '?'
console.log(`anvil-node: booted slot ${slot} version ${release.version}`)
const root = readFileSync('/proc/mounts', 'utf8').split('\n').find(l => l.split(' ')[1] === '/') ?? '?'
console.log(`anvil-node: try=${args.get('anvil.try') ?? '?'} build ${release.build} node ${process.version} uptime ${readFileSync('/proc/uptime', 'utf8').split(' ')[0]} s root "${root}"`)
