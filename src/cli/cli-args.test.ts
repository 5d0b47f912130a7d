import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { isSyncKitError } from '../errors/sync-kit-error.js'
import {
  CLI_USAGE,
  DEFAULT_CLI_HEARTBEAT_MS,
  DEFAULT_DB_PATH,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  EPOCH_USAGE,
  MAX_CLI_DURATION_MS,
  SERVE_USAGE,
  parseCliArgs,
} from './cli-args.js'

/** The `details.argument` of the usage error `argv` produces. */
function rejectedArgument(argv: readonly string[]): string {
  try {
    parseCliArgs(argv)
  } catch (error) {
    if (isSyncKitError(error, 'invalid-argument')) return error.details.argument
    throw error
  }
  throw new Error(`parseCliArgs accepted ${JSON.stringify(argv)}`)
}

describe('parseCliArgs', () => {
  it('fills in every default for a bare `serve`', () => {
    expect(parseCliArgs(['serve'])).toEqual({
      kind: 'serve',
      options: {
        db: DEFAULT_DB_PATH,
        port: DEFAULT_PORT,
        host: DEFAULT_HOST,
        basePath: '',
        shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
        heartbeatMs: DEFAULT_CLI_HEARTBEAT_MS,
        synchronous: 'full',
        logLevel: 'info',
      },
    })
    expect([DEFAULT_DB_PATH, DEFAULT_PORT, DEFAULT_HOST]).toEqual(['sync.db', 8787, '127.0.0.1'])
  })

  it('reads every serve flag, in either --flag value or --flag=value form', () => {
    const command = parseCliArgs([
      'serve',
      '--db',
      ':memory:',
      '--port=0',
      '--host',
      '0.0.0.0',
      '--base-path',
      '/sync/api',
      '--shutdown-timeout',
      '0',
      '--heartbeat=250',
      '--synchronous',
      'normal',
      '--log-level',
      'warn',
    ])
    expect(command).toEqual({
      kind: 'serve',
      options: {
        db: ':memory:',
        port: 0,
        host: '0.0.0.0',
        basePath: '/sync/api',
        shutdownTimeoutMs: 0,
        heartbeatMs: 250,
        synchronous: 'normal',
        logLevel: 'warn',
      },
    })
  })

  it('answers --help and -h with the matching usage text, before checking other flags', () => {
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help', text: CLI_USAGE })
    expect(parseCliArgs(['-h'])).toEqual({ kind: 'help', text: CLI_USAGE })
    expect(parseCliArgs(['serve', '--help'])).toEqual({ kind: 'help', text: SERVE_USAGE })
    expect(parseCliArgs(['serve', '--port', '70000', '-h'])).toEqual({
      kind: 'help',
      text: SERVE_USAGE,
    })
    // Every flag the parser accepts is documented.
    for (const flag of ['--db', '--port', '--host', '--base-path', '--shutdown-timeout']) {
      expect(SERVE_USAGE).toContain(flag)
    }
    for (const flag of ['--heartbeat', '--synchronous', '--log-level', '--help']) {
      expect(SERVE_USAGE).toContain(flag)
    }
  })

  it('answers --version and -v', () => {
    expect(parseCliArgs(['--version'])).toEqual({ kind: 'version' })
    expect(parseCliArgs(['-v'])).toEqual({ kind: 'version' })
  })

  it('rejects a missing or unknown command', () => {
    expect(rejectedArgument([])).toBe('command')
    expect(rejectedArgument(['start'])).toBe('command')
    expect(() => parseCliArgs(['start'])).toThrow(/unknown command "start".*serve/)
  })

  it('rejects unknown flags, missing values and stray arguments, naming the flag', () => {
    expect(rejectedArgument(['serve', '--bogus'])).toBe('bogus')
    expect(rejectedArgument(['serve', '--db'])).toBe('db')
    expect(rejectedArgument(['serve', '--port', '--db', 'x.db'])).toBe('port')
    expect(rejectedArgument(['serve', 'extra'])).toBe('command')
    expect(rejectedArgument(['--bogus'])).toBe('bogus')
    expect(() => parseCliArgs(['serve', '--bogus'])).toThrow(/^\[sync-kit\] \[cli\] .*--help/)
  })

  it.each([
    ['port', '-1'],
    ['port', '65536'],
    ['port', '80.5'],
    ['port', '0x50'],
    ['port', ''],
    ['shutdown-timeout', String(MAX_CLI_DURATION_MS + 1)],
    ['shutdown-timeout', '1e3'],
    ['heartbeat', '0'],
    ['synchronous', 'off'],
    ['log-level', 'debug'],
    ['base-path', 'sync'],
    ['base-path', '/sync/'],
    ['base-path', '/a b'],
    ['db', ''],
    ['host', ''],
  ])('rejects --%s=%j with a usage error naming it', (flag, value) => {
    expect(rejectedArgument(['serve', `--${flag}=${value}`])).toBe(flag)
  })

  it('accepts the bounds of every numeric flag', () => {
    const options = (argv: string[]) => {
      const command = parseCliArgs(['serve', ...argv])
      if (command.kind !== 'serve') throw new Error('expected serve')
      return command.options
    }
    expect(options(['--port', '65535']).port).toBe(65_535)
    expect(options(['--shutdown-timeout', String(MAX_CLI_DURATION_MS)]).shutdownTimeoutMs).toBe(
      MAX_CLI_DURATION_MS,
    )
    expect(options(['--heartbeat', '1']).heartbeatMs).toBe(1)
  })

  it('reads the limit flags into the options they set, and leaves them out when not given', () => {
    const command = parseCliArgs([
      'serve',
      '--max-connections',
      '200',
      '--max-streams=50',
      '--headers-timeout',
      '2000',
      '--request-timeout',
      '30000',
      '--body-timeout',
      '0',
      '--body-budget',
      String(32 * 1024 * 1024),
      '--max-drift',
      '0',
      '--ws-send-buffer',
      String(16 * 1024 * 1024),
    ])
    expect(command).toMatchObject({
      kind: 'serve',
      options: {
        maxConnections: 200,
        maxStreams: 50,
        headersTimeoutMs: 2000,
        requestTimeoutMs: 30_000,
        bodyIdleTimeoutMs: 0,
        maxBufferedBodyBytes: 32 * 1024 * 1024,
        maxDriftMs: 0,
        wsMaxBufferedBytes: 16 * 1024 * 1024,
      },
    })
    const bare = parseCliArgs(['serve'])
    if (bare.kind !== 'serve') throw new Error('expected serve')
    expect(Object.keys(bare.options)).not.toContain('maxConnections')
    expect(Object.keys(bare.options)).not.toContain('wsMaxBufferedBytes')
    for (const flag of ['--max-connections', '--max-streams', '--headers-timeout']) {
      expect(SERVE_USAGE).toContain(flag)
    }
    for (const flag of [
      '--request-timeout',
      '--body-timeout',
      '--body-budget',
      '--max-drift',
      '--ws-send-buffer',
    ]) {
      expect(SERVE_USAGE).toContain(flag)
    }
  })

  it.each([
    ['max-connections', '0'],
    ['max-streams', '-1'],
    ['headers-timeout', '0'],
    ['request-timeout', String(MAX_CLI_DURATION_MS + 1)],
    ['body-timeout', '1.5'],
    ['body-budget', '1024'],
    ['max-drift', 'five'],
    ['ws-send-buffer', '65536'],
  ])('rejects the limit --%s=%j with a usage error naming it', (flag, value) => {
    expect(rejectedArgument(['serve', `--${flag}=${value}`])).toBe(flag)
  })

  it('reads the epoch command: --db and --renew, its own help, and no :memory:', () => {
    expect(parseCliArgs(['epoch'])).toEqual({
      kind: 'epoch',
      options: { db: DEFAULT_DB_PATH, renew: false },
    })
    expect(parseCliArgs(['epoch', '--db', 'x.db', '--renew'])).toEqual({
      kind: 'epoch',
      options: { db: 'x.db', renew: true },
    })
    expect(parseCliArgs(['epoch', '--help'])).toEqual({ kind: 'help', text: EPOCH_USAGE })
    expect(rejectedArgument(['epoch', '--db', ':memory:'])).toBe('db')
    expect(rejectedArgument(['epoch', '--port', '1'])).toBe('port')
    expect(rejectedArgument(['epoch', 'extra'])).toBe('command')
    expect(CLI_USAGE).toContain('epoch')
  })

  it('reads --cors repeated or as a comma list, and --auth-tokens, as the serve options', () => {
    expect(
      parseCliArgs([
        'serve',
        '--cors',
        'http://localhost:5173, https://app.example.com',
        '--cors=https://app.example.com',
        '--cors',
        'capacitor://localhost',
        '--auth-tokens',
        'tokens.json',
      ]),
    ).toMatchObject({
      kind: 'serve',
      options: {
        cors: ['http://localhost:5173', 'https://app.example.com', 'capacitor://localhost'],
        authTokens: 'tokens.json',
      },
    })
    expect(parseCliArgs(['serve', '--cors', '*'])).toMatchObject({ options: { cors: '*' } })
    const bare = parseCliArgs(['serve'])
    if (bare.kind !== 'serve') throw new Error('expected serve')
    expect(Object.keys(bare.options)).not.toContain('cors')
    expect(Object.keys(bare.options)).not.toContain('authTokens')
  })

  it.each([
    [['--cors', 'example.com'], 'has no scheme; write it as https://example.com'],
    [['--cors', 'https://example.com/'], 'ends with "/"'],
    [['--cors', 'https://app.example.com,*'], 'give it alone'],
    [['--cors', ','], '--cors needs an origin'],
    [['--cors'], 'argument missing'],
    [['--auth-tokens', ''], '--auth-tokens needs the path'],
  ])('rejects %j with a usage error saying how to fix it', (flags, problem) => {
    try {
      parseCliArgs(['serve', ...flags])
      expect.fail('accepted')
    } catch (error) {
      if (!isSyncKitError(error, 'invalid-argument')) throw error
      expect(error.details.argument).toBe(flags[0]?.slice(2))
      expect(error.message).toContain(problem)
    }
  })

  it('keeps the flag table of docs/server.md in step with sync-kit serve --help', () => {
    const helpFlags = new Set(
      [...SERVE_USAGE.matchAll(/^ {2}(?:-h, )?(--[a-z-]+)/gm)].map((match) => match[1]),
    )
    const docs = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'server.md'), 'utf8')
    const table = /## Flags\n([\s\S]*?)\n## /.exec(docs)?.[1] ?? ''
    const docFlags = new Set(
      [...table.matchAll(/^\| `(?:-h`, `)?(--[a-z-]+)/gm)].map((match) => match[1]),
    )
    expect(helpFlags.size).toBeGreaterThan(20)
    expect([...docFlags].sort()).toEqual([...helpFlags].sort())
  })
})
