// Builds the native lock-step TFTP engine (native/tftp-lockstep.c) into native/build/, at `npm install`.
// Optional by design: without a C compiler or Node's headers the server still runs, and lock-step
// transfers go through the event loop instead (the server says so at start). So this never fails
// the install; it says what is missing. `node native/build.mjs --require` fails instead (CI uses it).
//
// Node-API modules need no linking against node (its symbols resolve when the module is loaded),
// so one cc call is the whole build: no node-gyp, no Python, no header download.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const source = join(here, 'tftp-lockstep.c')
const out = join(here, 'build', 'tftp-lockstep.node')
const required = process.argv.includes('--require')

function headers () {
  // Node's own tarball and Debian's nodejs both put node_api.h in <prefix>/include/node.
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']
  if (process.env.npm_config_nodedir) candidates.unshift(join(process.env.npm_config_nodedir, 'include', 'node'))
  return candidates.find((d) => existsSync(join(d, 'node_api.h')))
}

function give (why) {
  const message = `anvil: native TFTP lock-step engine not built (${why}); lock-step TFTP will use the event loop`
  if (required) {
    console.error(message)
    process.exit(1)
  }
  console.warn(message)
  process.exit(0)
}

if (process.platform !== 'linux') give(`it uses epoll and eventfd, which ${process.platform} does not have`)
const include = headers()
if (include === undefined) give('no node_api.h: install Node\'s headers (Debian: they come with nodejs; or set npm_config_nodedir)')
const cc = process.env.CC ?? 'cc'
mkdirSync(dirname(out), { recursive: true })
const tmp = `${out}.${process.pid}.tmp`
try {
  execFileSync(cc, ['-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-pthread', `-I${include}`,
    '-DNODE_GYP_MODULE_NAME=tftp_lockstep', '-o', tmp, source], { stdio: ['ignore', 'inherit', 'inherit'] })
} catch (err) {
  give(err.code === 'ENOENT' ? `no C compiler (${cc}): install gcc` : `${cc} failed`)
}
renameSync(tmp, out) // atomic: a running server never loads a half-written module
console.log(`anvil: built ${out}`)
