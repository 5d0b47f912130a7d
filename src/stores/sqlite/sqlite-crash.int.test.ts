import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openSqliteStore } from './index.js'

const WRITER = join(dirname(fileURLToPath(import.meta.url)), 'sqlite-crash-writer.fixture.ts')
const RUNS = 20
/** Replay a failure with `SYNC_KIT_CRASH_SEED=<seed> npx vitest run --project integration …`. */
const SEED = Number(process.env['SYNC_KIT_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31))

/** mulberry32, as in the writer: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface RunOutcome {
  /** Batch number → the ids the writer acknowledged for it. */
  readonly acked: Map<number, string[]>
  /** The batch the writer had begun but not acknowledged when it was killed, if any. */
  readonly inFlight: number | undefined
  readonly stderr: string
}

/** Starts the writer, kills it with SIGKILL `delayMs` after it is ready, returns its acks. */
function runWriter(path: string, seed: number, synchronous: string, delayMs: number) {
  return new Promise<RunOutcome>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WRITER, path, String(seed), synchronous],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stdout = ''
    let stderr = ''
    let timer: ReturnType<typeof setTimeout> | undefined
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      if (timer === undefined && stdout.startsWith('ready\n')) {
        timer = setTimeout(() => child.kill('SIGKILL'), delayMs)
      }
    })
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(watchdog)
      if (timer !== undefined) clearTimeout(timer)
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer exited with code ${String(code)} before the kill:\n${stderr}`))
        return
      }
      const acked = new Map<number, string[]>()
      let begun: number | undefined
      // A line cut by the kill has no newline yet; only complete lines are acknowledgements.
      const complete = stdout.slice(0, stdout.lastIndexOf('\n') + 1)
      for (const line of complete.split('\n')) {
        const match = /^ack (\d+) (\S+)$/.exec(line)
        if (match !== null) acked.set(Number(match[1]), (match[2] as string).split(','))
        const begin = /^begin (\d+)$/.exec(line)
        if (begin !== null) begun = Number(begin[1])
      }
      resolve({
        acked,
        inFlight: begun !== undefined && !acked.has(begun) ? begun : undefined,
        stderr,
      })
    })
  })
}

describe('sqlite store: crash safety', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sync-kit-crash-'))
    console.log(`sqlite crash test seed: ${SEED} (set SYNC_KIT_CRASH_SEED to replay)`)
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it(`Given a writer killed with SIGKILL at a random moment (${RUNS} runs), When the file is reopened, Then every acknowledged batch is whole and no batch is partial`, async () => {
    const random = prng(SEED)
    let totalAcked = 0
    let totalUnacked = 0
    let killedInFlight = 0
    let inFlightCommitted = 0
    for (let run = 0; run < RUNS; run++) {
      const path = join(dir, `run-${run}.db`)
      const synchronous = run % 2 === 0 ? 'full' : 'normal'
      const writerSeed = Math.floor(random() * 2 ** 31)
      const delayMs = Math.floor(random() * 250)
      const context = `run ${run} (seed ${SEED}, writer seed ${writerSeed}, ${synchronous}, kill after ${delayMs} ms)`

      const { acked, inFlight } = await runWriter(path, writerSeed, synchronous, delayMs)

      // The file passes SQLite's own integrity check after recovery from the WAL.
      const raw = new Database(path)
      expect(raw.pragma('integrity_check', { simple: true }), context).toBe('ok')
      raw.close()

      const store = await openSqliteStore({ path })
      const events = await store.load(null)
      const byBatch = new Map<number, { ids: string[]; size: number }>()
      let previous = 0n
      for (const { event, version } of events) {
        const seq = BigInt(version.toString())
        expect(seq > previous, `${context}: versions increase`).toBe(true)
        previous = seq
        const data = event.data as { batch: number; index: number; size: number }
        const entry = byBatch.get(data.batch) ?? { ids: [], size: data.size }
        entry.ids.push(event.id)
        byBatch.set(data.batch, entry)
      }
      // No partial batch: every batch present has all of its events, in order.
      for (const [batch, { ids, size }] of byBatch) {
        expect(ids, `${context}: batch ${batch} is whole`).toEqual(
          Array.from({ length: size }, (_, i) => `b${batch}-e${i}`),
        )
      }
      // Every acknowledged batch is present with exactly the acknowledged ids.
      for (const [batch, ids] of acked) {
        expect(byBatch.get(batch)?.ids, `${context}: acknowledged batch ${batch}`).toEqual(ids)
      }
      // Batches commit one after another: the present ones are 1..n, n ≥ the last acked one.
      const present = [...byBatch.keys()]
      expect(present, `${context}: batches present`).toEqual(
        Array.from({ length: present.length }, (_, i) => i + 1),
      )
      expect(present.length, `${context}: at least the acked batches`).toBeGreaterThanOrEqual(
        acked.size,
      )
      // The checkpoint set in each batch's transaction names the last batch present.
      const checkpoint = await store.getCheckpoint({ remote: 'crash-test', direction: 'push' })
      expect(checkpoint, `${context}: checkpoint`).toEqual(
        present.length === 0 ? undefined : { version: String(present.length) },
      )
      // And the store goes on appending after the crash.
      const next = await store.store({ id: 'after-crash', type: 'T', aggregateId: 'a', data: null })
      expect(next.version.toString(), context).toBe(String(previous + 1n))
      await store.close()

      totalAcked += acked.size
      totalUnacked += present.length - acked.size
      if (inFlight !== undefined) {
        killedInFlight++
        if (byBatch.has(inFlight)) inFlightCommitted++
      }
    }
    console.log(
      `sqlite crash test: ${RUNS} kills, ${killedInFlight} during a storeBatch call (${inFlightCommitted} of those had committed), ${totalAcked} acknowledged batches, ${totalUnacked} committed but not acknowledged`,
    )
    expect(totalAcked, 'the writers got some batches committed').toBeGreaterThan(0)
  }, 60_000)
})
