import assert from 'node:assert/strict'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

/** Compares text with a golden file; UPDATE_GOLDEN=1 rewrites the file instead. */
export function assertGolden (actual: string, file: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, actual)
    return
  }
  let expected: string
  try {
    expected = readFileSync(file, 'utf8')
  } catch {
    assert.fail(`golden file ${file} is missing: run with UPDATE_GOLDEN=1 and review it`)
  }
  assert.equal(actual, expected, `differs from ${file} (UPDATE_GOLDEN=1 rewrites it; review the diff)`)
}
