import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createSyncHandler } from '../transports/http/index.js'
import { readAuthTokens } from './auth-tokens.js'

const dir = mkdtempSync(join(tmpdir(), 'sync-kit-auth-tokens-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ACME = 'acme-token-0123456789abcdef'
const ADMIN = 'admin-token-0123456789abcdef'
const HASHED = 'globex-token-0123456789abcdef'

let files = 0
function tokenFile(content: unknown, mode = 0o600): string {
  const file = join(dir, `tokens-${++files}.json`)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  chmodSync(file, mode)
  return file
}

function problemOf(file: string): string {
  try {
    readAuthTokens(file)
  } catch (error) {
    if (!isSyncKitError(error, 'invalid-argument')) throw error
    expect(error.details.argument).toBe('auth-tokens')
    expect(error.message.startsWith(`[sync-kit] [cli] --auth-tokens ${file}: `)).toBe(true)
    return error.message.slice(`[sync-kit] [cli] --auth-tokens ${file}: `.length)
  }
  throw new Error('the file was accepted')
}

const request = (authorization?: string): Request =>
  new Request('http://sync.test/v1/events', {
    headers: authorization === undefined ? {} : { authorization },
  })

describe('readAuthTokens', () => {
  const valid = tokenFile({
    version: 1,
    tokens: [
      { token: ACME, tenant: 'acme' },
      { sha256: createHash('sha256').update(HASHED).digest('hex').toUpperCase(), tenant: 'globex' },
      { token: ADMIN, tenant: null },
    ],
  })

  it('Given a valid file, When a request sends a listed bearer token (plain or hashed), Then its principal is the token tenant, null for an unscoped one', async () => {
    const tokens = readAuthTokens(valid)
    expect(tokens).toMatchObject({ file: valid, count: 3, warnings: [] })
    await expect(tokens.authorize(request(`Bearer ${ACME}`))).resolves.toEqual({ tenant: 'acme' })
    await expect(tokens.authorize(request(`bearer  ${HASHED}`))).resolves.toEqual({
      tenant: 'globex',
    })
    const admin = await tokens.authorize(request(`Bearer ${ADMIN}`))
    expect(admin).toEqual({ tenant: null })
    expect(tokens.tenantOf(admin)).toBeUndefined()
    expect(tokens.tenantOf({ tenant: 'acme' })).toBe('acme')
  })

  it.each([
    [undefined, 'this server needs a bearer token: send Authorization: Bearer <token>'],
    [`Basic ${btoa('a:b')}`, 'must be "Bearer <token>"'],
    ['Bearer two tokens', 'must be "Bearer <token>"'],
    [`Bearer ${ACME}x`, 'the bearer token is not known to this server'],
    [`Bearer ${ACME.slice(0, -1)}`, 'the bearer token is not known to this server'],
  ])(
    'Given the Authorization %j, When checked, Then unauthorized saying what to send',
    async (header, problem) => {
      const tokens = readAuthTokens(valid)
      const error: unknown = await tokens.authorize(request(header)).catch((e: unknown) => e)
      expect(isSyncKitError(error, 'unauthorized')).toBe(true)
      expect((error as Error).message).toContain(problem)
    },
  )

  it('Given the tokens as a handler authorize, When a request has no token, an unknown one or a good one, Then 401 unauthorized, 401, and the tenant-confined answer', async () => {
    const tokens = readAuthTokens(valid)
    const handler = createSyncHandler({
      store: createMemoryStore(),
      authorize: tokens.authorize,
      tenantOf: tokens.tenantOf,
      requireTenant: true,
    })
    const none = await handler(request())
    expect(none.status).toBe(401)
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    expect((await handler(request('Bearer nope-nope-nope-nope'))).status).toBe(401)
    const push = await handler(
      new Request('http://sync.test/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${ACME}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          events: [
            { id: 'e1', type: 'T', aggregateId: 'a', data: {}, metadata: { tenant: 'acme' } },
          ],
        }),
      }),
    )
    expect(push.status).toBe(200)
    const other = await handler(request(`Bearer ${HASHED}`))
    expect(((await other.json()) as { events: unknown[] }).events).toEqual([])
    // Health needs no token (load balancers).
    expect((await handler(new Request('http://sync.test/v1/health'))).status).toBe(200)
  })

  it('Given a file of plain tokens others may read, When read, Then it works and warns to chmod it; hashes only do not warn', () => {
    const open = tokenFile({ version: 1, tokens: [{ token: ACME, tenant: 'acme' }] }, 0o644)
    expect(readAuthTokens(open).warnings).toEqual([
      `${open} holds tokens and other users may read it; chmod 600 it, or store "sha256" hashes instead of "token"s`,
    ])
    const hashed = tokenFile(
      { version: 1, tokens: [{ sha256: 'a'.repeat(64), tenant: 'acme' }] },
      0o644,
    )
    expect(readAuthTokens(hashed).warnings).toEqual([])
  })

  it.each([
    ['not json', 'is not valid JSON'],
    ['"tokens"', 'the file must be an object { "version": 1, "tokens": [ … ] }'],
    [[], 'version is missing'],
    [{ tokens: [] }, 'version is missing'],
    [
      { version: 2, tokens: [{ token: ACME, tenant: 'a' }] },
      'version must be 1 (the token file format this sync-kit reads)',
    ],
    [{ version: 1, tokens: [] }, 'tokens must hold at least one token'],
    [{ version: 1, tokens: { [ACME]: { tenant: 'a' } } }, 'tokens must be an array'],
    [{ version: 1, tokens: [{ token: ACME }] }, 'tokens[0].tenant is missing'],
    [
      { version: 1, tokens: [{ token: ACME, tenant: 7 }] },
      'tokens[0].tenant must be a string or null',
    ],
    [{ version: 1, tokens: ['x'] }, 'tokens[0] must be an object'],
    [{ version: 1, tokens: [{ token: ACME, tenant: '' }] }, 'tokens[0].tenant must not be empty'],
    [
      { version: 1, tokens: [{ token: 'short', tenant: 'a' }] },
      'tokens[0].token must be at least 16 characters (make one with: openssl rand -hex 32)',
    ],
    [
      { version: 1, tokens: [{ token: `${ACME} x`, tenant: 'a' }] },
      'tokens[0].token may hold only',
    ],
    [
      { version: 1, tokens: [{ sha256: 'abc', tenant: 'a' }] },
      'tokens[0].sha256 must be 64 hex digits',
    ],
    [
      { version: 1, tokens: [{ tenant: 'a' }] },
      'tokens[0] needs exactly one of "token" and "sha256"',
    ],
    [
      { version: 1, tokens: [{ token: ACME, sha256: 'a'.repeat(64), tenant: 'a' }] },
      'tokens[0] needs exactly one of',
    ],
    [
      { version: 1, tokens: [{ token: ACME, tenant: 'a', tennant: 'b' }] },
      'tokens[0].tennant is not a field of the token file format',
    ],
    [
      {
        version: 1,
        tokens: [
          { token: ADMIN, tenant: null },
          { token: ACME, tenant: 'a' },
          { sha256: createHash('sha256').update(ACME).digest('hex'), tenant: 'b' },
        ],
      },
      'tokens[2] repeats the token of tokens[1]',
    ],
  ])(
    'Given the file %j, When read, Then invalid-argument naming the file and the problem',
    (content, problem) => {
      expect(problemOf(tokenFile(content))).toContain(problem)
    },
  )

  it('Given a path with no file, or a directory, When read, Then invalid-argument naming it', () => {
    expect(problemOf(join(dir, 'missing.json'))).toBe('no such file')
    const folder = join(dir, 'folder')
    mkdirSync(folder)
    expect(problemOf(folder)).toBe('is a directory, not a file')
  })
})
