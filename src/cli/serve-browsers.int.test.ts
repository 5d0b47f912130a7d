import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { WebSocket } from 'ws'
import { afterAll, describe, expect, it } from 'vitest'

import { REPO_ROOT, SOURCE_CLI_COMMAND, startSyncServer } from '../../examples/http-mode.js'
import type { ServerLogRecord, SyncServerProcess } from '../../examples/http-mode.js'
import { lastWriteWins } from '../resolvers/index.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { SyncManager } from '../sync/sync-manager.js'
import { createHttpTransport } from '../transports/http/index.js'

// `sync-kit serve --cors … --auth-tokens FILE` as a real child process: the requests a browser
// page of another origin makes (preflight, then the call with Origin and a bearer token), two
// SyncManagers of one tenant syncing through it, the WebSocket Origin check, and token files that
// stop the start before it listens.

const APP = 'http://localhost:5173'
const ACME = 'acme-token-0123456789abcdef'
const GLOBEX = 'globex-token-0123456789abcdef'

const dir = mkdtempSync(join(tmpdir(), 'sync-kit-serve-browsers-'))
const servers: SyncServerProcess[] = []
afterAll(async () => {
  for (const server of servers) await server.stop()
  rmSync(dir, { recursive: true, force: true })
})

function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  chmodSync(path, 0o600)
  return path
}

const tokens = file(
  'tokens.json',
  JSON.stringify({
    version: 1,
    tokens: [
      { token: ACME, tenant: 'acme' },
      { token: GLOBEX, tenant: 'globex' },
    ],
  }),
)

async function start(args: readonly string[], records: ServerLogRecord[] = []) {
  const server = await startSyncServer({
    db: ':memory:',
    args,
    onLog: (record) => records.push(record),
  })
  servers.push(server)
  return server
}

describe('sync-kit serve --cors --auth-tokens', () => {
  it('Given --cors and --auth-tokens, When a page of that origin preflights and then calls with its token, Then 204 with the allow headers, 401 without the token, and its tenant’s events with it', async () => {
    const records: ServerLogRecord[] = []
    const server = await start(
      ['--cors', `${APP},https://app.example.com`, '--auth-tokens', tokens],
      records,
    )
    expect(records.find((r) => r['msg'] === 'listening')).toMatchObject({
      cors: [APP, 'https://app.example.com'],
      authTokens: { file: tokens, tokens: 2 },
    })

    const preflight = await fetch(`${server.url}/v1/events`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP)
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization')

    const anonymous = await fetch(`${server.url}/v1/version`, { headers: { origin: APP } })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('access-control-allow-origin')).toBe(APP)
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe(
      'unauthorized',
    )
    const unknown = await fetch(`${server.url}/v1/version`, {
      headers: { origin: APP, authorization: 'Bearer not-a-token-of-this-server' },
    })
    expect(unknown.status).toBe(401)

    const push = await fetch(`${server.url}/v1/events`, {
      method: 'POST',
      headers: { origin: APP, authorization: `Bearer ${ACME}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          { id: 'e1', type: 'Noted', aggregateId: 'a', data: {}, metadata: { tenant: 'acme' } },
        ],
      }),
    })
    expect(push.status).toBe(200)
    expect(push.headers.get('access-control-allow-origin')).toBe(APP)
    expect(push.headers.get('vary')).toBe('Origin')
    const pull = (await (
      await fetch(`${server.url}/v1/events`, { headers: { authorization: `Bearer ${GLOBEX}` } })
    ).json()) as { events: unknown[] }
    expect(pull.events).toEqual([])

    // A page of an origin not listed: its preflight is refused, and logged with the reason.
    const evil = await fetch(`${server.url}/v1/events`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    })
    expect(evil.status).toBe(403)
    expect(evil.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('Given tokens of one tenant, When two SyncManagers sync through the server, Then they converge; an event without its tenant is refused (requireTenant)', async () => {
    const server = await start(['--cors', APP, '--auth-tokens', tokens])
    const replica = (nodeId: string) => {
      const store = createMemoryStore()
      const manager = new SyncManager({
        store,
        transport: createHttpTransport({
          url: server.url,
          headers: { authorization: `Bearer ${ACME}`, origin: APP },
          retry: { retries: 0 },
        }),
        resolver: lastWriteWins(),
        nodeId,
      })
      const errors: unknown[] = []
      manager.on('error', (error) => errors.push(error))
      return { manager, store, errors }
    }
    const a = replica('a')
    const b = replica('b')
    await a.manager.record({
      type: 'Noted',
      aggregateId: 'n1',
      data: { text: 'hi' },
      metadata: { tenant: 'acme' },
    })
    expect(await a.manager.sync()).toMatchObject({ pushed: 1 })
    expect(await b.manager.sync()).toMatchObject({ pulled: 1 })
    const ids = async (store: typeof a.store) => (await store.load(null)).map((e) => e.event.id)
    expect(await ids(b.store)).toEqual(await ids(a.store))

    // Without metadata.tenant the server refuses the event (422), rather than storing a copy
    // that differs from the replica's own.
    await a.manager.record({ type: 'Noted', aggregateId: 'n2', data: {} })
    await a.manager.sync().catch((error: unknown) => a.errors.push(error))
    const messages = a.errors.map((error) => (error instanceof Error ? error.message : ''))
    expect(messages.join('\n')).toContain('has no metadata.tenant')
    expect(await b.manager.sync()).toMatchObject({ pulled: 0 })
    await a.manager.close()
    await b.manager.close()
  })

  it('Given --cors, When WebSocket pages upgrade, Then the listed origin connects and another gets 403', async () => {
    const server = await start(['--cors', APP])
    const ws = server.url.replace(/^http/, 'ws') + '/v1/ws'
    const open = (origin: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(ws, ['sync-kit.v1'], { origin })
        socket.once('open', () => {
          socket.terminate()
          resolve(101)
        })
        socket.once('unexpected-response', (_request, response) =>
          resolve(response.statusCode ?? 0),
        )
        socket.on('error', () => undefined)
      })
    expect(await open(APP)).toBe(101)
    expect(await open('https://evil.example')).toBe(403)
  })

  it('Given --cors *, When started, Then every origin is allowed and a warning says so', async () => {
    const records: ServerLogRecord[] = []
    const server = await start(['--cors', '*'], records)
    const response = await fetch(`${server.url}/v1/version`, {
      headers: { origin: 'https://x.example' },
    })
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(records.find((r) => r['msg'] === 'cors allows every origin')).toMatchObject({
      level: 'warn',
    })
  })

  it.each([
    ['missing.json', undefined, 'no such file'],
    ['broken.json', '{ "version": 1, "tokens": [', 'is not valid JSON'],
    [
      'untyped.json',
      JSON.stringify({ version: 1, tokens: [{ token: ACME }] }),
      'tokens[0].tenant is missing',
    ],
    [
      'short.json',
      JSON.stringify({ version: 1, tokens: [{ token: 'x', tenant: 'a' }] }),
      'at least 16 characters',
    ],
  ])(
    'Given the token file %s, When serve starts, Then it exits 2 naming the file and the problem, before listening',
    async (name, content, problem) => {
      const path = content === undefined ? join(dir, name) : file(name, content)
      const [node, ...cli] = SOURCE_CLI_COMMAND as [string, ...string[]]
      const result = await promisify(execFile)(
        node,
        [...cli, 'serve', '--db', ':memory:', '--port', '0', '--auth-tokens', path],
        { cwd: REPO_ROOT },
      ).then(
        () => ({ code: 0, stdout: '', stderr: '' }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({
          code: error.code,
          stdout: error.stdout ?? '',
          stderr: error.stderr ?? '',
        }),
      )
      expect(result.code).toBe(2)
      expect(result.stdout).not.toContain('listening')
      const record = JSON.parse(result.stderr.trim().split('\n')[0] ?? '{}') as Record<
        string,
        unknown
      >
      expect(record).toMatchObject({
        level: 'error',
        msg: 'start failed',
        code: 'invalid-argument',
        file: path,
      })
      expect(record['message']).toBe(
        `[sync-kit] [cli] --auth-tokens ${path}: ${String(record['message']).split(`${path}: `)[1]}`,
      )
      expect(record['message']).toContain(problem)
    },
  )

  it('Given a malformed --cors, When serve starts, Then it exits 2 saying how to write the origin', async () => {
    const [node, ...cli] = SOURCE_CLI_COMMAND as [string, ...string[]]
    const failed = await promisify(execFile)(node, [...cli, 'serve', '--cors', 'localhost:5173'], {
      cwd: REPO_ROOT,
    }).catch((error: { code?: number; stderr?: string }) => error)
    expect(failed).toMatchObject({ code: 2 })
    expect((failed as { stderr: string }).stderr).toContain('--cors "localhost:5173"')
  })
})
