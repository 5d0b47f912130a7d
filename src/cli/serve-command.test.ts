import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'

import { openSqliteStore } from '../stores/sqlite/index.js'
import { holdPost } from './held-request.js'
import { runCli } from './run-cli.js'
import type { CliEnvironment } from './run-cli.js'

interface Harness {
  readonly env: CliEnvironment
  readonly out: string[]
  readonly err: string[]
  readonly exit: ReturnType<typeof vi.fn>
  /** Delivers a signal to the running command, as the process would. */
  signal(name: string): void
  /** Resolves with the first stdout record whose msg is `msg`. */
  record(msg: string): Promise<Record<string, unknown>>
}

function harness(): Harness {
  const out: string[] = []
  const err: string[] = []
  const listeners = new Set<(signal: string) => void>()
  const waiting: { msg: string; resolve: (record: Record<string, unknown>) => void }[] = []
  const exit = vi.fn()
  const findIn = (msg: string): Record<string, unknown> | undefined =>
    out
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((record) => record['msg'] === msg)
  return {
    out,
    err,
    exit,
    env: {
      stdout: (line) => {
        out.push(line)
        for (const w of [...waiting]) {
          const found = findIn(w.msg)
          if (found !== undefined) {
            waiting.splice(waiting.indexOf(w), 1)
            w.resolve(found)
          }
        }
      },
      stderr: (line) => err.push(line),
      onSignal: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      exit,
      version: '9.9.9-test',
    },
    signal: (name) => {
      for (const listener of [...listeners]) listener(name)
    },
    record: (msg) =>
      new Promise((resolve) => {
        const found = findIn(msg)
        if (found !== undefined) resolve(found)
        else waiting.push({ msg, resolve })
      }),
  }
}

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sync-kit-cli-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const EVENT = { id: 'e1', type: 'Created', aggregateId: 'a1', data: { title: 'Milk' } }

describe('runCli', () => {
  it('prints the version and the help on stdout and exits 0', async () => {
    const h = harness()
    expect(await runCli(['--version'], h.env)).toBe(0)
    expect(await runCli(['serve', '--help'], h.env)).toBe(0)
    expect(h.out[0]).toBe('9.9.9-test')
    expect(h.out[1]).toMatch(/^Usage: sync-kit serve/)
    expect(h.err).toEqual([])
  })

  it('exits 2 with one explanatory line on stderr for a bad command line, starting nothing', async () => {
    const h = harness()
    expect(await runCli(['serve', '--port', 'eighty'], h.env)).toBe(2)
    expect(await runCli(['serv'], h.env)).toBe(2)
    expect(h.err).toHaveLength(2)
    expect(h.err[0]).toMatch(
      /^\[sync-kit\] \[cli\] --port must be an integer .*"eighty"; see sync-kit serve --help$/,
    )
    expect(h.out).toEqual([])
  })
})

describe('sync-kit serve (in process)', () => {
  it('serves the protocol on the SQLite file, logs each request, and on SIGTERM closes the database and exits 0', async () => {
    // Given a server on a fresh database file and an ephemeral port
    const db = join(tempDir(), 'sync.db')
    const h = harness()
    const running = runCli(['serve', '--db', db, '--port', '0'], h.env)
    const listening = await h.record('listening')
    expect(listening).toMatchObject({ level: 'info', db, host: '127.0.0.1', version: '9.9.9-test' })
    const url = listening['url'] as string
    expect(url).toBe(`http://127.0.0.1:${String(listening['port'])}`)

    // When a client pushes an event and pulls it back
    const pushed = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [EVENT] }),
    })
    expect(pushed.status).toBe(200)
    expect(await pushed.json()).toMatchObject({
      stored: 1,
      duplicates: 0,
      epoch: listening['epoch'],
    })
    const pulled = (await (await fetch(`${url}/v1/events`)).json()) as { events: unknown[] }
    expect(pulled.events).toEqual([{ event: EVENT, version: '1' }])

    // And the process receives SIGTERM
    h.signal('SIGTERM')

    // Then the command resolves 0 after logging the shutdown, without forcing an exit
    expect(await running).toBe(0)
    expect(h.exit).not.toHaveBeenCalled()
    const msgs = h.out.map((line) => (JSON.parse(line) as { msg: string }).msg)
    expect(msgs).toEqual(['listening', 'request', 'request', 'shutting down', 'stopped'])
    expect(JSON.parse(h.out[1] ?? '')).toMatchObject({
      msg: 'request',
      method: 'POST',
      path: '/v1/events',
      status: 200,
      stored: 1,
    })
    expect(h.err).toEqual([])
    // And the port is free and the file holds the event and reopens
    await expect(fetch(`${url}/v1/health`)).rejects.toThrow()
    const reopened = await openSqliteStore({ path: db })
    try {
      expect((await reopened.load(null)).map((item) => item.event)).toEqual([EVENT])
    } finally {
      await reopened.close()
    }
  })

  it('keeps the epoch across restarts on the same file, so client checkpoints stay valid', async () => {
    // Given a database file a server has run on
    const db = join(tempDir(), 'sync.db')
    const epochs: unknown[] = []
    // When the server is started and stopped twice on it
    for (let run = 0; run < 2; run++) {
      const h = harness()
      const running = runCli(['serve', '--db', db, '--port', '0'], h.env)
      epochs.push((await h.record('listening'))['epoch'])
      h.signal('SIGINT')
      expect(await running).toBe(0)
    }
    // Then both runs report the same epoch
    expect(epochs[0]).toEqual(expect.any(String))
    expect(epochs[1]).toBe(epochs[0])
  })

  it('lets a request in flight at SIGTERM finish, then stops', async () => {
    // Given a server holding a push whose body has not arrived yet
    const db = join(tempDir(), 'sync.db')
    const h = harness()
    const running = runCli(['serve', '--db', db, '--port', '0'], h.env)
    const url = (await h.record('listening'))['url'] as string
    const held = holdPost(`${url}/v1/events`)
    await held.accepted
    // When SIGTERM arrives
    h.signal('SIGTERM')
    expect(await h.record('shutting down')).toMatchObject({ signal: 'SIGTERM', inFlight: 1 })
    // Then new requests are refused, and the held one still completes once its body arrives
    await expect(fetch(`${url}/v1/health`)).rejects.toThrow()
    const { status, text } = await held.finish(JSON.stringify({ events: [EVENT] }))
    expect(status).toBe(200)
    expect(JSON.parse(text)).toMatchObject({ stored: 1 })
    expect(await running).toBe(0)
    expect(h.err).toEqual([])
    const store = await openSqliteStore({ path: db })
    expect((await store.load(null)).map((item) => item.event.id)).toEqual(['e1'])
    await store.close()
  })

  it('cuts off requests still running at --shutdown-timeout, says so, and still closes cleanly', async () => {
    // Given a server with no shutdown grace, holding a push that never completes
    const db = join(tempDir(), 'sync.db')
    const h = harness()
    const running = runCli(['serve', '--db', db, '--port', '0', '--shutdown-timeout', '0'], h.env)
    const url = (await h.record('listening'))['url'] as string
    const held = holdPost(`${url}/v1/events`)
    await held.accepted
    // When SIGTERM arrives
    h.signal('SIGTERM')
    // Then the request's connection is closed, a warning names one cut-off request, and the
    // command still exits 0 with nothing stored
    await expect(held.response).rejects.toThrow()
    expect(await running).toBe(0)
    expect(h.err.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'requests cut off', count: 1 }),
    ])
    const store = await openSqliteStore({ path: db })
    expect(await store.load(null)).toEqual([])
    await store.close()
  })

  it('serves under --base-path and answers 404 outside it', async () => {
    const h = harness()
    const running = runCli(
      ['serve', '--db', ':memory:', '--port', '0', '--base-path', '/sync'],
      h.env,
    )
    const listening = await h.record('listening')
    const url = listening['url'] as string
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sync$/)
    expect(listening['db']).toBe(':memory:')
    expect((await fetch(`${url}/v1/health`)).status).toBe(200)
    expect((await fetch(url.replace('/sync', '/v1/health'))).status).toBe(404)
    h.signal('SIGTERM')
    expect(await running).toBe(0)
    // The 404 is a warning: it goes to stderr.
    expect(h.err.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'request', status: 404 }),
    ])
  })

  it('forces exit 1 on a second signal during the shutdown', async () => {
    // Given a running server
    const h = harness()
    const running = runCli(['serve', '--db', ':memory:', '--port', '0'], h.env)
    await h.record('listening')
    // When SIGTERM starts the shutdown and SIGINT follows before it has finished
    h.signal('SIGTERM')
    h.signal('SIGINT')
    // Then the command asks for exit code 1 at once and says why
    expect(h.exit).toHaveBeenCalledWith(1)
    expect(JSON.parse(h.err.at(-1) ?? '')).toMatchObject({
      level: 'warn',
      msg: 'forced exit',
      signal: 'SIGINT',
    })
    // (In process, nothing exits: the shutdown runs to its end.)
    expect(await running).toBe(0)
  })

  it('exits 1 with an error record when the port is taken, leaving the database closed', async () => {
    // Given a port another server holds
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as AddressInfo).port
    const db = join(tempDir(), 'sync.db')
    try {
      const h = harness()
      // When the CLI tries to listen on it
      const code = await runCli(['serve', '--db', db, '--port', String(port)], h.env)
      // Then it exits 1 with a record naming the problem
      expect(code).toBe(1)
      expect(h.out).toEqual([])
      expect(JSON.parse(h.err[0] ?? '')).toMatchObject({
        level: 'error',
        msg: 'start failed',
        code: 'unavailable',
        message: expect.stringContaining(`127.0.0.1:${port}`),
        db,
      })
      // And the database it had opened is closed (another connection can take the write lock)
      const store = await openSqliteStore({ path: db, busyTimeoutMs: 1 })
      await store.setCheckpoint({ remote: 'probe', direction: 'push' }, { version: '0' })
      await store.close()
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('exits 2 without creating anything when the directory of --db does not exist', async () => {
    const missing = join(tempDir(), 'no', 'such', 'dir', 'sync.db')
    const h = harness()
    expect(await runCli(['serve', '--db', missing, '--port', '0'], h.env)).toBe(2)
    expect(JSON.parse(h.err[0] ?? '')).toMatchObject({
      msg: 'start failed',
      code: 'invalid-argument',
      message: expect.stringContaining('does not exist'),
    })
  })

  it('exits 1 at the start when the database can only be read, instead of listening and failing every push with 500', async () => {
    // Regression: a read-only file (permissions, a read-only mount) that already had its epoch
    // started fine, then answered every push with 500 internal.
    const db = join(tempDir(), 'read-only.db')
    const first = harness()
    const running = runCli(['serve', '--db', db, '--port', '0'], first.env)
    await first.record('listening')
    first.signal('SIGTERM')
    expect(await running).toBe(0)
    // The SQLite header's "write version" above 2 makes SQLite open the file read-only, the same
    // as a file without write permission, but it also holds when the tests run as root.
    const handle = openSync(db, 'r+')
    writeSync(handle, Uint8Array.of(3), 0, 1, 18)
    closeSync(handle)

    const h = harness()
    // Without the check the server would listen: stop it so the test fails fast, not by timeout.
    void h.record('listening').then(() => h.signal('SIGTERM'))
    expect(await runCli(['serve', '--db', db, '--port', '0'], h.env)).toBe(1)

    expect(
      h.out.map((line) => JSON.parse(line) as { msg: string }).map((r) => r.msg),
    ).not.toContain('listening')
    expect(JSON.parse(h.err[0] ?? '')).toMatchObject({
      level: 'error',
      msg: 'start failed',
      message: expect.stringContaining('cannot write'),
    })
  })

  it('exits 1 when --db is not a usable database, and leaves the file as it was', async () => {
    const dir = tempDir()
    const h = harness()
    expect(await runCli(['serve', '--db', dir, '--port', '0'], h.env)).toBe(1)
    expect(JSON.parse(h.err[0] ?? '')).toMatchObject({ level: 'error', msg: 'start failed' })
  })
})
