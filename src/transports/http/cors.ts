import { integerOption } from '../../core/options.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { createOriginPolicy } from '../../server/index.js'
import type { OriginPolicy } from '../../server/index.js'
import { COMPONENT } from './sync-handler-errors.js'
import {
  CORS_ALLOWED_HEADERS,
  CORS_EXPOSED_HEADERS,
  DEFAULT_CORS_MAX_AGE_SECONDS,
} from './sync-handler-options.js'
import type { CorsOptions } from './sync-handler-options.js'

// The handler's CORS: preflights and the headers of every response to an allowed origin. Which
// origins are allowed is the server core's one origin check (`server/origins.ts`), which the
// WebSocket server reads too.

/** The handler's CORS, built from its `cors` option. */
export interface Cors {
  /** The allowed origins, for the endpoint (the WebSocket server checks upgrades with it). */
  readonly policy: OriginPolicy
  /**
   * Answers a preflight (`OPTIONS`): 204 with the allow headers for an allowed origin, method and
   * headers.
   * @param request - the `OPTIONS` request.
   * @param methods - the methods the route serves.
   * @returns the response.
   * @throws SyncKitError `forbidden` (403) naming what is not allowed and how to allow it, for the
   * log (browsers never show a preflight's body to the page).
   */
  preflight(request: Request, methods: readonly string[]): Response
  /**
   * Adds the CORS headers to a response (an error or a live stream too): `Vary: Origin` always,
   * the allow headers when the request's origin is allowed.
   * @param request - the request.
   * @param response - the handler's response (its headers are mutable).
   * @returns the response.
   */
  decorate(request: Request, response: Response): Response
}

/** Max-age beyond which browsers clamp anyway (Firefox: 24 h). */
const MAX_CORS_MAX_AGE_SECONDS = 86_400

/**
 * Checks the `cors` option and builds the handler's CORS.
 * @param options - the option.
 * @returns the CORS of the handler.
 * @throws SyncKitError `invalid-argument` for a malformed origin (no scheme, a path, a trailing
 * slash: the message says how to write it), header name or max-age.
 */
export function createCors(options: CorsOptions): Cors {
  if (typeof options !== 'object' || options === null) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} option cors must be an object such as { origins: ['https://app.example.com'] }`,
      { argument: 'cors' },
    )
  }
  const policy = createOriginPolicy(options.origins, 'http-server', 'cors.origins')
  const allowHeaders = headerList(options.allowHeaders, CORS_ALLOWED_HEADERS, 'allowHeaders')
  const exposeHeaders = headerList(options.exposeHeaders, CORS_EXPOSED_HEADERS, 'exposeHeaders')
  const maxAge = integerOption(
    options.maxAgeSeconds,
    DEFAULT_CORS_MAX_AGE_SECONDS,
    'cors.maxAgeSeconds',
    'http-server',
    0,
  )
  const allowed = new Set(allowHeaders)
  const allowOrigin = (origin: string): string => (policy.any ? '*' : origin)

  const refuse = (problem: string): SyncKitError<'forbidden'> =>
    new SyncKitError('forbidden', `${COMPONENT} CORS preflight refused: ${problem}`, {})
  // Preflights answered whole: `decorate` leaves them as they are.
  const answered = new WeakSet<Response>()
  const answer = (headers: Record<string, string>): Response => {
    const response = new Response(null, { status: 204, headers: { ...headers, vary: 'Origin' } })
    answered.add(response)
    return response
  }

  return {
    policy,
    preflight(request, methods) {
      const origin = request.headers.get('origin')
      // Not a browser's preflight: a plain OPTIONS learns the methods.
      if (origin === null) return answer({ allow: [...methods, 'OPTIONS'].join(', ') })
      if (!policy.allows(origin)) {
        const shown = origin.slice(0, 200)
        throw refuse(
          `origin ${JSON.stringify(shown)} is not allowed; allow it with createSyncHandler({ cors: { origins: [${JSON.stringify(shown)}] } }) or sync-kit serve --cors ${shown}`,
        )
      }
      const method = (request.headers.get('access-control-request-method') ?? '').toUpperCase()
      if (method !== '' && !methods.includes(method)) {
        throw refuse(
          `method ${method.slice(0, 20)} is not served here; use ${methods.join(' or ')}`,
        )
      }
      const asked = (request.headers.get('access-control-request-headers') ?? '')
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .filter((name) => name !== '')
      const unknown = asked.find((name) => !allowed.has(name))
      if (unknown !== undefined) {
        throw refuse(
          `request header ${JSON.stringify(unknown.slice(0, 100))} is not allowed; allow it with cors.allowHeaders (allowed: ${allowHeaders.join(', ')})`,
        )
      }
      const headers: Record<string, string> = {
        'access-control-allow-origin': allowOrigin(origin),
        'access-control-allow-methods': methods.join(', '),
        'access-control-allow-headers': allowHeaders.join(', '),
        'access-control-max-age': String(Math.min(maxAge, MAX_CORS_MAX_AGE_SECONDS)),
      }
      // Chromium's Private Network Access: a public page calling a server on a private address.
      if (request.headers.get('access-control-request-private-network') === 'true') {
        headers['access-control-allow-private-network'] = 'true'
      }
      return answer(headers)
    },
    decorate(request, response) {
      if (answered.has(response)) return response
      response.headers.append('vary', 'Origin')
      const origin = request.headers.get('origin')
      if (origin !== null && policy.allows(origin)) {
        response.headers.set('access-control-allow-origin', allowOrigin(origin))
        response.headers.set('access-control-expose-headers', exposeHeaders.join(', '))
      }
      return response
    },
  }
}

/** The built-in header names plus the option's, lower case, each a valid header name. */
function headerList(
  extra: readonly string[] | undefined,
  builtIn: readonly string[],
  name: string,
): readonly string[] {
  if (extra === undefined) return builtIn
  if (!Array.isArray(extra)) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} option cors.${name} must be an array of header names, e.g. ['x-client-version']`,
      { argument: `cors.${name}` },
    )
  }
  const out = [...builtIn]
  for (const [index, header] of (extra as readonly unknown[]).entries()) {
    if (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
      throw new SyncKitError(
        'invalid-argument',
        `${COMPONENT} option cors.${name}[${index}] must be a header name (letters, digits, "-"), got ${JSON.stringify(String(header).slice(0, 100))}`,
        { argument: `cors.${name}` },
      )
    }
    const lower = header.toLowerCase()
    if (!out.includes(lower)) out.push(lower)
  }
  return out
}
