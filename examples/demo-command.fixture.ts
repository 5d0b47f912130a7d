import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'vitest'

/** Test-only: runs `examples/trace-demo.ts` as `npm run demo` does, in a child process. */

const REPO = fileURLToPath(new URL('..', import.meta.url))

/** The keys of the JSON summary line of a sequential replay, in order. */
export const SEQUENTIAL_SUMMARY_KEYS: readonly string[] = [
  'trace',
  'events',
  'replicas',
  'converged',
  'ms',
  'eventsPerSec',
]

/**
 * Runs the demo with `args`; it must exit 0 (the promise rejects otherwise) and print exactly one
 * line, the JSON summary, on stdout.
 * @returns the parsed summary and the progress written to stderr.
 */
export async function runDemoCommand(
  args: readonly string[],
): Promise<{ summary: Record<string, unknown>; stderr: string }> {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'examples/trace-demo.ts', ...args],
    { cwd: REPO, maxBuffer: 16 * 1024 * 1024 },
  )
  const lines = stdout.trim().split('\n')
  expect(lines).toHaveLength(1)
  return { summary: JSON.parse(lines[0] ?? '') as Record<string, unknown>, stderr }
}
