// `sync-kit serve --db postgres://…` without a database at hand: the flags, `pg` loaded only for
// such a URL (and named with its install command when missing), an unreachable server, and the
// URL's password kept out of the records. The runs on a real PostgreSQL are in
// src/cli/multi-instance.int.test.ts.
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'

import { isSyncKitError } from '../errors/sync-kit-error.js'
import { DEFAULT_PG_POOL_SIZE, SERVE_USAGE, isPostgresUrl, parseCliArgs } from './cli-args.js'
import { redactUrl } from './open-store.js'
import { runCli } from './run-cli.js'

function usageError(argv: readonly string[]): { argument: string; message: string } {
  try {
    parseCliArgs(argv)
  } catch (error) {
    if (isSyncKitError(error, 'invalid-argument')) {
      return { argument: error.details.argument, message: error.message }
    }
    throw error
  }
  throw new Error(`parseCliArgs accepted ${JSON.stringify(argv)}`)
}

async function run(argv: readonly string[], importPg?: () => Promise<unknown>) {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli(argv, {
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
    onSignal: () => () => undefined,
    exit: () => undefined,
    version: '9.9.9-test',
    ...(importPg === undefined ? {} : { importPg }),
  })
  const records = [...out, ...err]
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
  return { code, records, err }
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

describe('sync-kit serve --db postgres://…', () => {
  it('reads the PostgreSQL flags, which only a postgres:// --db takes', () => {
    expect(
      parseCliArgs([
        'serve',
        '--db',
        'postgres://app:secret@db.internal:5432/app',
        '--pg-pool-size',
        '4',
        '--pg-statement-timeout=0',
      ]),
    ).toMatchObject({
      kind: 'serve',
      options: {
        db: 'postgres://app:secret@db.internal:5432/app',
        pgPoolSize: 4,
        pgStatementTimeoutMs: 0,
      },
    })
    const bare = parseCliArgs(['serve', '--db', 'postgresql://127.0.0.1/app'])
    expect(bare.kind === 'serve' && 'pgPoolSize' in bare.options).toBe(false)
    expect(isPostgresUrl('postgres://x/y') && isPostgresUrl('POSTGRESQL://x/y')).toBe(true)
    expect(isPostgresUrl('./postgres.db')).toBe(false)
    expect(usageError(['serve', '--db', './sync.db', '--pg-pool-size', '4']).argument).toBe(
      'pg-pool-size',
    )
    expect(usageError(['serve', '--db', 'postgres://h/db', '--pg-pool-size', '0']).argument).toBe(
      'pg-pool-size',
    )
    expect(usageError(['serve', '--db', 'postgres://h/db', '--synchronous', 'normal'])).toEqual({
      argument: 'synchronous',
      message: expect.stringMatching(/SQLite --db only/) as string,
    })
    expect(usageError(['serve', '--db', 'postgres://']).argument).toBe('db')
    expect(SERVE_USAGE).toContain('--pg-pool-size N')
    expect(SERVE_USAGE).toContain(`(default: ${DEFAULT_PG_POOL_SIZE})`)
  })

  it('without the pg package, says how to install it and exits 1 before listening', async () => {
    const missing = (): Promise<unknown> =>
      Promise.reject(
        Object.assign(new Error("Cannot find package 'pg'"), { code: 'ERR_MODULE_NOT_FOUND' }),
      )
    const { code, records } = await run(
      ['serve', '--db', 'postgres://app:secret@127.0.0.1:1/app', '--port', '0'],
      missing,
    )
    expect(code).toBe(1)
    expect(records.map((r) => r['msg'])).toEqual(['start failed'])
    expect(records[0]).toMatchObject({
      code: 'missing-dependency',
      message: expect.stringContaining('npm install pg') as string,
      db: 'postgres://app:***@127.0.0.1:1/app',
    })
  })

  it('with a server that cannot be reached, fails the start with unavailable and no password in the records', async () => {
    const port = await closedPort()
    const { code, records } = await run([
      'serve',
      '--db',
      `postgres://app:secret@127.0.0.1:${port}/app`,
      '--port',
      '0',
    ])
    expect(code).toBe(1)
    expect(records.at(-1)).toMatchObject({ msg: 'start failed', code: 'unavailable' })
    expect(JSON.stringify(records)).not.toContain('secret')
  })

  it('keeps passwords out of the URL it logs', () => {
    expect(redactUrl('postgres://u:pw@h:1/db?sslmode=require')).toBe(
      'postgres://u:***@h:1/db?sslmode=require',
    )
    expect(redactUrl('postgres://u@h/db?password=pw')).toBe('postgres://u@h/db?password=***')
    expect(redactUrl('postgres://u@h/db')).toBe('postgres://u@h/db')
  })
})
