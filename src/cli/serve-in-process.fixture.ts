/**
 * `sync-kit serve` run in this process (through `runCli`, as `npx sync-kit serve` runs it) on a
 * fresh SQLite file, for the integration tests of the CLI: its JSON log records, its listening
 * record, and a SIGTERM that resolves with its exit code.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from './run-cli.js'
import type { CliEnvironment } from './run-cli.js'

/** A running in-process `sync-kit serve`. */
export interface ServedInProcess {
  /** Its `listening` record (`url`, `websocket`, `epoch`, …). */
  readonly listening: Record<string, unknown>
  /** Every JSON log record it wrote so far. */
  readonly records: Record<string, unknown>[]
  /** The SQLite file it serves. */
  readonly db: string
  /** Sends SIGTERM; resolves with the exit code once it stopped. */
  stop(): Promise<number>
  /** Deletes the directory of the database (after `stop`). */
  remove(): void
}

/**
 * Starts `sync-kit serve --db <fresh file> --port 0 …args` and waits for its `listening` record.
 * @param args - further flags.
 * @returns the running server.
 * @throws Error when it does not listen within 10 s.
 */
export async function serveInProcess(args: readonly string[]): Promise<ServedInProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sync-kit-serve-'))
  const db = join(dir, 'sync.db')
  const records: Record<string, unknown>[] = []
  const listeners = new Set<(signal: string) => void>()
  const env: CliEnvironment = {
    stdout: (line) => records.push(JSON.parse(line) as Record<string, unknown>),
    stderr: () => undefined,
    onSignal: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    exit: () => undefined,
    version: '9.9.9-test',
  }
  const running = runCli(['serve', '--db', db, '--port', '0', ...args], env)
  const deadline = Date.now() + 10_000
  let listening: Record<string, unknown> | undefined
  while ((listening = records.find((r) => r['msg'] === 'listening')) === undefined) {
    if (Date.now() > deadline) throw new Error('serve did not listen')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return {
    listening,
    records,
    db,
    stop: async (): Promise<number> => {
      for (const listener of [...listeners]) listener('SIGTERM')
      return running
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
