// `sync-kit serve` where the optional peer `ws` is not installed (an app that installed sync-kit
// and better-sqlite3 only): the server starts for HTTP + SSE clients and says in one warning how
// to serve WebSocket clients too, instead of failing to load at all. And what serve hands the
// WebSocket server when it loads: the --ws-send-buffer bound.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

import { DEFAULT_MAX_BUFFERED_BYTES, createWebSocketServer } from '../transports/ws/node.js'
import type { WebSocketServerOptions } from '../transports/ws/node.js'
import { DEFAULT_CLI_WS_SEND_BUFFER_BYTES } from './cli-args.js'
import { runCli } from './run-cli.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** What Node throws for `import('ws')` when the package is not installed. */
function missingWs(): Error {
  return Object.assign(
    new Error("Cannot find package 'ws' imported from /app/node_modules/sync-kit/dist/cli/main.js"),
    { code: 'ERR_MODULE_NOT_FOUND' },
  )
}

async function start(importWebSocketServer: () => Promise<never>, extra: readonly string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'sync-kit-no-ws-'))
  dirs.push(dir)
  const out: string[] = []
  const err: string[] = []
  let stop: ((signal: string) => void) | undefined
  let listening: (url: string) => void = () => undefined
  const url = new Promise<string>((resolve) => (listening = resolve))
  const running = runCli(['serve', '--db', join(dir, 'sync.db'), '--port', '0', ...extra], {
    stdout: (line) => {
      out.push(line)
      const record = JSON.parse(line) as Record<string, unknown>
      if (record['msg'] === 'listening') listening(record['url'] as string)
    },
    stderr: (line) => err.push(line),
    onSignal: (listener) => {
      stop = listener
      return () => undefined
    },
    exit: () => undefined,
    version: '9.9.9-test',
    importWebSocketServer,
  })
  return { running, url, out, err, stop: () => stop?.('SIGTERM') }
}

describe('sync-kit serve without the optional peer ws', () => {
  it('Given ws is not installed, When serve starts, Then it serves HTTP and warns once how to add WebSocket clients', async () => {
    const server = await start(() => Promise.reject(missingWs()))
    const url = await Promise.race([server.url, server.running.then(() => 'exited')])
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const health = await fetch(`${url}/v1/health`)
    expect(health.status).toBe(200)
    const warnings = server.err.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ level: 'warn', msg: 'websocket off' })
    expect(String(warnings[0]?.['reason'])).toContain('npm install ws')
    server.stop()
    expect(await server.running).toBe(0)
  })

  it('Given --no-websocket, When serve starts, Then it does not load the WebSocket server at all', async () => {
    let loads = 0
    const server = await start(() => {
      loads++
      return Promise.reject(missingWs())
    }, ['--no-websocket'])
    await server.url
    expect(loads).toBe(0)
    expect(server.err).toEqual([])
    server.stop()
    expect(await server.running).toBe(0)
  })

  it('Given the WebSocket server fails to load for another reason, When serve starts, Then the start fails with it', async () => {
    const server = await start(() => Promise.reject(new Error('broken build')))
    expect(await server.running).toBe(1)
    expect(server.err.join('\n')).toContain('broken build')
  })
})

describe('sync-kit serve --ws-send-buffer', () => {
  /** The real WebSocket server module, recording the options serve creates it with. */
  function recording() {
    const created: WebSocketServerOptions[] = []
    const load = () =>
      Promise.resolve({
        createWebSocketServer: (options: WebSocketServerOptions) => {
          created.push(options)
          return createWebSocketServer(options)
        },
      }) as Promise<never>
    return { created, load }
  }

  it('Given --ws-send-buffer, When serve starts, Then the WebSocket server gets it as maxBufferedBytes; without it, the library default applies (the one the help names)', async () => {
    const given = recording()
    const server = await start(given.load, ['--ws-send-buffer', String(16 * 1024 * 1024)])
    await server.url
    expect(given.created.map((o) => o.maxBufferedBytes)).toEqual([16 * 1024 * 1024])
    server.stop()
    expect(await server.running).toBe(0)

    const bare = recording()
    const plain = await start(bare.load)
    await plain.url
    expect(bare.created).toHaveLength(1)
    expect(Object.keys(bare.created[0] ?? {})).not.toContain('maxBufferedBytes')
    expect(DEFAULT_CLI_WS_SEND_BUFFER_BYTES).toBe(DEFAULT_MAX_BUFFERED_BYTES)
    plain.stop()
    expect(await plain.running).toBe(0)
  })
})
