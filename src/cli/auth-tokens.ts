/**
 * `sync-kit serve --auth-tokens FILE`: bearer tokens, each mapped to a tenant, read from a JSON
 * file once at start. Every request but `/v1/health` must send `Authorization: Bearer <token>`
 * (a WebSocket client sends it in its hello); a missing or unknown token is refused with 401
 * `unauthorized`. The tenant of the token confines the request through the handler's tenant rules
 * (`authorize` and `tenantOf` of `createSyncHandler`).
 *
 * The file (version 1):
 *
 * ```json
 * {
 *   "version": 1,
 *   "tokens": [
 *     { "token": "9c1185a5c5e9fc54612808977ee8f548b2258d31", "tenant": "acme" },
 *     { "sha256": "<hex SHA-256 of the token>", "tenant": "globex" },
 *     { "token": "an-unscoped-token-for-the-backend", "tenant": null }
 *   ]
 * }
 * ```
 *
 * @example
 * ```ts
 * import { readAuthTokens } from './auth-tokens.js'
 *
 * const tokens = readAuthTokens('/etc/sync-kit/tokens.json')
 * const handler = createSyncHandler({ store, authorize: tokens.authorize, tenantOf: tokens.tenantOf })
 * ```
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import * as v from 'valibot'

import { SyncKitError } from '../errors/sync-kit-error.js'

/** The version of the token file this sync-kit reads. */
export const AUTH_TOKENS_VERSION = 1
/** Shortest `token` accepted: a guessable token is no authentication. */
export const MIN_TOKEN_LENGTH = 16

const COMPONENT = '[sync-kit] [cli]'

/** Who sent a request: the tenant of its token, `null` for an unscoped token. */
export interface TokenPrincipal {
  readonly tenant: string | null
}

/** The tokens of a file, as the handler's `authorize` and `tenantOf`. */
export interface AuthTokens {
  /** The file's absolute path. */
  readonly file: string
  /** How many tokens it holds. */
  readonly count: number
  /** Problems that do not stop the start (a file others may read), for the log. */
  readonly warnings: readonly string[]
  /**
   * The handler's `authorize`: the principal of the request's bearer token.
   * @param request - the request.
   * @returns the token's principal.
   * @throws SyncKitError `unauthorized` for a missing, malformed or unknown token.
   */
  authorize(request: Request): Promise<TokenPrincipal>
  /**
   * The handler's `tenantOf`.
   * @param principal - from {@link AuthTokens.authorize}.
   * @returns the tenant, `undefined` for an unscoped token.
   */
  tenantOf(principal: TokenPrincipal): string | undefined
}

/** Characters of a bearer token (RFC 6750 `b64token`). */
const TOKEN_CHARS = /^[A-Za-z0-9\-._~+/]+=*$/

const entrySchema = v.strictObject(
  {
    token: v.optional(
      v.pipe(
        v.string('must be a string'),
        v.minLength(
          MIN_TOKEN_LENGTH,
          `must be at least ${MIN_TOKEN_LENGTH} characters (make one with: openssl rand -hex 32)`,
        ),
        v.maxLength(4096, 'must be at most 4096 characters'),
        v.regex(TOKEN_CHARS, 'may hold only letters, digits and - . _ ~ + / (then = padding)'),
      ),
    ),
    sha256: v.optional(
      v.pipe(
        v.string('must be a string'),
        v.regex(
          /^[0-9a-fA-F]{64}$/,
          'must be 64 hex digits, the SHA-256 of the token (printf %s "$TOKEN" | sha256sum)',
        ),
      ),
    ),
    // null: the token sees every tenant (an administrator, or an app without tenants).
    tenant: v.nullable(
      v.pipe(v.string('must be a string or null'), v.minLength(1, 'must not be empty')),
    ),
  },
  'must be an object { "token": …, "tenant": … }',
)

const fileSchema = v.strictObject(
  {
    version: v.literal(
      AUTH_TOKENS_VERSION,
      `must be ${AUTH_TOKENS_VERSION} (the token file format this sync-kit reads)`,
    ),
    tokens: v.pipe(
      v.array(entrySchema, 'must be an array of { "token": …, "tenant": … }'),
      v.minLength(1, 'must hold at least one token'),
    ),
  },
  `must be an object { "version": ${AUTH_TOKENS_VERSION}, "tokens": [ … ] }`,
)

/**
 * Reads and checks a token file.
 * @param file - its absolute path.
 * @returns the tokens.
 * @throws SyncKitError `invalid-argument` naming the file and the problem (unreadable, not JSON,
 * a field of the wrong shape with its path, a repeated token).
 */
export function readAuthTokens(file: string): AuthTokens {
  const fail = (problem: string, cause?: unknown): SyncKitError<'invalid-argument'> =>
    new SyncKitError(
      'invalid-argument',
      `${COMPONENT} --auth-tokens ${file}: ${problem}`,
      { argument: 'auth-tokens' },
      cause === undefined ? undefined : { cause },
    )
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw fail(
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : `cannot be read (${error instanceof Error ? error.message : String(error)})`,
      error,
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw fail(
      `is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      error,
    )
  }
  const parsed = v.safeParse(fileSchema, json)
  if (!parsed.success) throw fail(describeIssue(parsed.issues[0]))
  const hashes: Buffer[] = []
  const tenants: (string | null)[] = []
  const seen = new Map<string, number>()
  let plain = false
  for (const [index, entry] of parsed.output.tokens.entries()) {
    if ((entry.token === undefined) === (entry.sha256 === undefined)) {
      throw fail(`tokens[${index}] needs exactly one of "token" and "sha256"`)
    }
    if (entry.token !== undefined) plain = true
    const hash =
      entry.token !== undefined
        ? sha256(entry.token)
        : Buffer.from((entry.sha256 as string).toLowerCase(), 'hex')
    const key = hash.toString('hex')
    const first = seen.get(key)
    if (first !== undefined) throw fail(`tokens[${index}] repeats the token of tokens[${first}]`)
    seen.set(key, index)
    hashes.push(hash)
    tenants.push(entry.tenant)
  }
  const warnings: string[] = []
  if (plain && process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    warnings.push(
      `${file} holds tokens and other users may read it; chmod 600 it, or store "sha256" hashes instead of "token"s`,
    )
  }
  const unauthorized = (problem: string): SyncKitError<'unauthorized'> =>
    new SyncKitError('unauthorized', `${COMPONENT} ${problem}`, {})

  return {
    file,
    count: hashes.length,
    warnings,
    authorize(request) {
      const header = request.headers.get('authorization')
      if (header === null) {
        return Promise.reject(
          unauthorized(
            'this server needs a bearer token: send Authorization: Bearer <token> (a token of its --auth-tokens file)',
          ),
        )
      }
      const match = /^Bearer +(\S+) *$/i.exec(header)
      if (match === null) {
        return Promise.reject(
          unauthorized('the Authorization header must be "Bearer <token>" (one token, no spaces)'),
        )
      }
      // Compared as SHA-256 digests, every entry each time, in constant time: how long the check
      // takes tells nothing about how much of a token was right.
      const presented = sha256(match[1] ?? '')
      let found = -1
      for (const [index, hash] of hashes.entries()) {
        if (timingSafeEqual(hash, presented) && found === -1) found = index
      }
      if (found === -1) {
        return Promise.reject(unauthorized('the bearer token is not known to this server'))
      }
      return Promise.resolve({ tenant: tenants[found] ?? null })
    },
    tenantOf: (principal) => principal.tenant ?? undefined,
  }
}

/** A valibot issue as `<path> <problem>`, with `tokens[2].tenant` style paths. */
function describeIssue(issue: v.BaseIssue<unknown>): string {
  const dotted = v.getDotPath(issue)
  const path = dotted === null ? 'the file' : dotted.replace(/\.(\d+)(?=\.|$)/g, '[$1]')
  if (issue.type === 'strict_object' && dotted !== null) {
    // A missing field, or one the format does not have (a typo such as "tennant").
    if (issue.expected === 'never') return `${path} is not a field of the token file format`
    if (issue.received === 'undefined') return `${path} is missing`
  }
  return `${path} ${issue.message}`
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
