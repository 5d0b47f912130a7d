import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'

import { REPO_ROOT, SOURCE_CLI_COMMAND, startSyncServer } from '../../examples/http-mode.js'
import type { ServerLogRecord } from '../../examples/http-mode.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import { createHttpTransport } from '../transports/http/index.js'
import type { Event, EventWithVersion } from '../types/index.js'
import { holdPost } from './held-request.js'

// `sync-kit serve` as a real child process (issue 3 §3): the same command `npx sync-kit` runs,
// from the source through tsx.

const [NODE, ...CLI_ARGS] = SOURCE_CLI_COMMAND as [string, ...string[]]

interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

async function runCliProcess(args: readonly string[]): Promise<Finished> {
  try {
    const { stdout, stderr } = await promisify(execFile)(NODE, [...CLI_ARGS, ...args], {
      cwd: REPO_ROOT,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: failed.code ?? null, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sync-kit-cli-int-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function server(db: string, port = 0) {
  const records: ServerLogRecord[] = []
  const running = await startSyncServer({ db, port, onLog: (record) => records.push(record) })
  cleanups.push(async () => {
    await running.stop()
  })
  return { running, records }
}

function event(i: number): Event {
  return { id: `e${i}`, type: 'Noted', aggregateId: `a${i % 3}`, data: { i } }
}

/** Resolves once `records` holds one with `msg`, polling the array the log sink fills. */
async function recordOf(
  records: readonly ServerLogRecord[],
  msg: string,
): Promise<ServerLogRecord> {
  for (;;) {
    const found = records.find((record) => record['msg'] === msg)
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('sync-kit CLI as a process', () => {
  it('prints --help and --version on stdout and exits 0', async () => {
    const help = await runCliProcess(['--help'])
    expect(help).toMatchObject({ code: 0, stderr: '' })
    expect(help.stdout).toMatch(/^Usage: sync-kit <command>/)
    const serveHelp = await runCliProcess(['serve', '--help'])
    expect(serveHelp.code).toBe(0)
    expect(serveHelp.stdout).toContain('--shutdown-timeout MS')
    const version = await runCliProcess(['--version'])
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' })
  })

  it.each([
    [['serve', '--prot', '8787'], /Unknown option '--prot'/],
    [['serve', '--port', 'http'], /--port must be an integer/],
    [['serve', '--db'], /--db <value>' argument missing/],
    [['server'], /unknown command "server"/],
    [[], /no command given/],
  ])('exits 2 on a bad command line %j, explaining it on stderr', async (args, message) => {
    const result = await runCliProcess(args)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toMatch(/--help/)
  })

  it('serves push, pull, version and a live stream to the HTTP transport, on a SQLite file', async () => {
    // Given a server on a fresh database file
    const db = join(tempDir(), 'sync.db')
    const { running, records } = await server(db)
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const writer = createHttpTransport({ url: running.url })
    const reader = createHttpTransport({ url: running.url })
    cleanups.push(() => writer.close())
    cleanups.push(() => reader.close())

    // When a reader subscribes live and a writer pushes 1 200 events (more than a page)
    const live: EventWithVersion[] = []
    const subscription = await reader.subscribe((batch) => {
      live.push(...batch)
    })
    cleanups.push(() => subscription.unsubscribe())
    const events = Array.from({ length: 1_200 }, (_, i) => event(i))
    const first = await writer.push(events.slice(0, 600))
    const second = await writer.push(events.slice(600))
    const again = await writer.push(events.slice(0, 10))

    // Then every event is stored once, and pulls page through them in order
    expect([first.stored, second.stored, again.stored, again.duplicates]).toEqual([600, 600, 0, 10])
    expect((await reader.latestVersion()).toString()).toBe('1200')
    const pulled: Event[] = []
    let since = null
    for (;;) {
      const page = await reader.pull(since, { limit: 500 })
      pulled.push(...page.events.map((item) => item.event))
      if (!page.hasMore) break
      since = page.events.at(-1)?.version ?? null
    }
    expect(pulled).toEqual(events)
    // And the live subscriber received all of them without polling
    await expect.poll(() => live.length, { timeout: 10_000 }).toBe(1_200)
    expect(live.map((item) => item.event.id)).toEqual(events.map((e) => e.id))
    // And each request left a JSON log record
    expect(records.filter((r) => r['msg'] === 'request' && r['method'] === 'POST')).toHaveLength(3)
  })

  it('on SIGTERM lets an in-flight push finish, exits 0 and leaves a closed, reopenable database', async () => {
    // Given a server holding a push whose body has not arrived yet
    const db = join(tempDir(), 'sync.db')
    const { running, records } = await server(db)
    const held = holdPost(`${running.url}/v1/events`)
    await held.accepted

    // When the process gets SIGTERM
    const stopped = running.stop('SIGTERM')
    const shutting = await recordOf(records, 'shutting down')
    expect(shutting).toMatchObject({ signal: 'SIGTERM', inFlight: 1 })
    // And only then the body arrives
    const response = await held.finish(JSON.stringify({ events: [event(1), event(2)] }))

    // Then the push succeeds, the process exits 0 after logging "stopped"
    expect(response.status).toBe(200)
    expect(JSON.parse(response.text)).toMatchObject({ stored: 2, duplicates: 0 })
    expect(await stopped).toEqual({ code: 0, signal: null })
    expect(records.map((r) => r['msg'])).toEqual([
      'listening',
      'shutting down',
      'request',
      'stopped',
    ])
    // And SQLite was closed cleanly: the write-ahead log was checkpointed and removed
    expect(existsSync(`${db}-wal`)).toBe(false)
    const store = await openSqliteStore({ path: db })
    try {
      expect((await store.load(null)).map((item) => item.event.id)).toEqual(['e1', 'e2'])
    } finally {
      await store.close()
    }
  })

  it('shuts down on SIGINT too, ending live streams, and keeps its epoch across the restart', async () => {
    // Given a server with a live subscriber
    const db = join(tempDir(), 'sync.db')
    const { running, records } = await server(db)
    const transport = createHttpTransport({ url: running.url })
    cleanups.push(() => transport.close())
    await transport.push([event(1)])
    const epoch = transport.epoch
    const live: string[] = []
    const subscription = await transport.subscribe(
      (batch) => {
        live.push(...batch.map((item) => item.event.id))
      },
      { onError: () => undefined },
    )
    cleanups.push(() => subscription.unsubscribe())

    // When it is restarted with SIGINT then started again on the same port and file
    const exit = await running.stop('SIGINT')
    expect(exit).toEqual({ code: 0, signal: null })
    expect(records.find((r) => r['msg'] === 'stopped')).toMatchObject({ signal: 'SIGINT' })
    const second = await server(db, running.port)

    // Then the same client carries on: same epoch, the old event is there, a new push works
    expect(second.running.url).toBe(running.url)
    const { epoch: after, events } = await transport.pull(null)
    expect(after).toBe(epoch)
    expect(events.map((item) => item.event.id)).toEqual(['e1'])
    expect((await transport.push([event(2)])).stored).toBe(1)
    // And the live subscription reconnected by itself and delivers the new event
    await expect.poll(() => live, { timeout: 20_000 }).toEqual(['e2'])
  })

  it('takes the epoch another server is creating on the same new file instead of making its own', async () => {
    // Regression: servers started together on a new file each read "no epoch yet", wrote their
    // own and kept it, so clients behind a load balancer saw the epoch flip between them (and
    // started over every time). Here the other server is a process that, holding SQLite's write
    // lock, is about to store its epoch when this server starts.
    const db = join(tempDir(), 'sync.db')
    await (await openSqliteStore({ path: db })).close()
    const other = spawn(
      NODE,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(db)})
        db.exec('BEGIN IMMEDIATE')
        console.log('locked')
        setTimeout(() => {
          db.prepare("INSERT INTO sync_kit_meta VALUES ('epoch', 'epoch-of-the-other-server')").run()
          db.exec('COMMIT')
          db.close()
        }, 500)`,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const otherExit = new Promise((resolve) => other.once('exit', resolve))
    await new Promise((resolve) => other.stdout.once('data', resolve))

    const { records } = await server(db)

    expect(await otherExit).toBe(0)
    expect((await recordOf(records, 'listening'))['epoch']).toBe('epoch-of-the-other-server')
  })

  it('exits 1 on a second signal while the shutdown waits for a request', async () => {
    const { running, records } = await server(':memory:')
    const held = holdPost(`${running.url}/v1/events`)
    await held.accepted
    const stopped = running.stop('SIGTERM')
    await recordOf(records, 'shutting down')
    // A second Ctrl-C: stop now.
    await running.stop('SIGINT')
    expect(await stopped).toEqual({ code: 1, signal: null })
    expect(records.find((r) => r['msg'] === 'forced exit')).toMatchObject({ signal: 'SIGINT' })
    await expect(held.response).rejects.toThrow()
  })

  it('exits 1 with a JSON error record when the database is not SQLite', async () => {
    const dir = tempDir()
    await expect(startSyncServer({ db: dir, startTimeoutMs: 20_000 })).rejects.toThrow(
      /exited with code 1 before listening[\s\S]*"msg":"start failed"/,
    )
  })
})
