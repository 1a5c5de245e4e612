import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { listNamespaces } from './netns.ts'
import { run, settlesWithin, sleep, tryRun } from './proc.ts'
import type { LabState } from './start-lab.ts'

function readPid (file: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    return ''
  }
}

/** True while the PID exists and lives in one of the lab's namespaces (so it is one of ours). */
async function ownedAndAlive (pid: number, namespaces: readonly string[]): Promise<boolean> {
  if (pid <= 0) return false
  try {
    const ns = (await run(['ip', 'netns', 'identify', String(pid)], { timeoutMs: 5_000 })).trim()
    return namespaces.includes(ns)
  } catch {
    return false
  }
}

/**
 * Removes what a lab that died without its teardown (SIGKILL, a crash) left behind, using the
 * state.json it kept in runDir: its own processes (only those PIDs, and only while they still run
 * inside the lab's namespaces), then the namespaces and the host link. Returns what it removed.
 */
export async function cleanupStaleLab (runDir: string): Promise<string[]> {
  const file = join(runDir, 'state.json')
  if (!existsSync(file)) return []
  const state = JSON.parse(readFileSync(file, 'utf8')) as LabState
  const present = new Set(await listNamespaces())
  const namespaces = state.namespaces.filter(n => present.has(n))
  const removed: string[] = []
  // The QEMUs that BMCs started are nobody's children: their PIDs are in the chassis pid files.
  const qemuPids = (state.chassisDirs ?? []).map(d => Number.parseInt(readPid(join(d, 'qemu.pid')), 10)).filter(p => p > 0)
  for (const pid of [...qemuPids, ...state.pids]) {
    if (!await ownedAndAlive(pid, namespaces)) continue
    process.kill(pid, 'SIGTERM')
    const gone = async (): Promise<void> => {
      for (let i = 0; i < 50 && await ownedAndAlive(pid, namespaces); i++) await sleep(100)
    }
    if (!await settlesWithin(gone(), 6_000) || await ownedAndAlive(pid, namespaces)) process.kill(pid, 'SIGKILL')
    removed.push(`process ${pid}`)
  }
  for (const ns of [...namespaces].reverse()) {
    if (await tryRun(['ip', 'netns', 'del', ns])) removed.push(`namespace ${ns}`)
  }
  if (state.hostIf !== '' && await tryRun(['ip', 'link', 'del', state.hostIf])) removed.push(`link ${state.hostIf}`)
  writeFileSync(file, JSON.stringify({ ...state, pids: [], namespaces: [], chassisDirs: [] }, null, 2) + '\n')
  return removed
}
