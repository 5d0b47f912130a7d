import { SyncKitError } from '../errors/sync-kit-error.js'

// The one origin check of the server: which browser origins may call it, as the `cors` option of
// the HTTP handler gives them. HTTP turns it into CORS headers (`transports/http/cors.ts`); the
// WebSocket server checks an upgrade's `Origin` with it (browsers send one, CORS does not apply
// to WebSockets). Here so that both wires, and the CLI's `--cors`, read one rule.

/**
 * The origins a server lets browser pages call it from: exact origins, or `'*'` for any.
 * @example
 * ```ts
 * const origins: AllowedOrigins = ['https://app.example.com', 'http://localhost:5173']
 * ```
 */
export type AllowedOrigins = readonly string[] | '*'

/** A checked {@link AllowedOrigins}. */
export interface OriginPolicy {
  /** True for `'*'`: every origin may call. */
  readonly any: boolean
  /** The exact origins allowed (empty for `'*'` and for a server without the option). */
  readonly origins: readonly string[]
  /**
   * Whether a page of this origin may call (an `Origin` header's value).
   * @param origin - the `Origin` header.
   * @returns true when it is listed, or every origin is allowed.
   */
  allows(origin: string): boolean
}

/** The policy of a server that names no origins: no cross-origin browser page may call it. */
export const NO_ORIGINS: OriginPolicy = {
  any: false,
  origins: [],
  allows: () => false,
}

/**
 * What is wrong with one allowed origin, in the form browsers send in `Origin`
 * (`scheme://host[:port]`, lower case, no default port, no path, no trailing slash).
 * @param value - the origin as configured.
 * @returns the problem and how to fix it, or `undefined` for a valid origin.
 * @example
 * ```ts
 * originProblem('example.com') // 'has no scheme; write it as https://example.com …'
 * originProblem('https://example.com') // undefined
 * ```
 */
export function originProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty string'
  const shown = JSON.stringify(value.slice(0, 100))
  if (value === '*') return `${shown} allows every origin: give it alone, not in a list`
  if (value.includes('*')) {
    return `${shown} holds a wildcard; list each origin (e.g. https://app.example.com), or allow every origin with '*' alone`
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)
  if (scheme === null) {
    return `${shown} has no scheme; write it as https://${value.replace(/^\/+/, '').replace(/\/+$/, '')} (scheme://host[:port], as browsers send it in Origin)`
  }
  let expected: string
  if (/^https?$/i.test(scheme[1] ?? '')) {
    try {
      expected = new URL(value).origin
    } catch {
      return `${shown} is not a valid URL origin (scheme://host[:port], e.g. https://app.example.com)`
    }
  } else {
    // Non-special schemes (capacitor://localhost, app://…): URL gives them no origin; lower case.
    expected = value.toLowerCase().replace(/\/+$/, '')
    if (!/^[a-z][a-z0-9+.-]*:\/\/[a-z0-9.-]+(?::[0-9]{1,5})?$/.test(expected)) {
      return `${shown} is not an origin (scheme://host[:port], e.g. https://app.example.com)`
    }
  }
  if (expected === value) return undefined
  const why = value.endsWith('/')
    ? 'ends with "/"'
    : /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/./i.test(value)
      ? 'has a path'
      : 'is not in the form browsers send'
  return `${shown} ${why}; an origin is scheme://host[:port] only: write ${JSON.stringify(expected)}`
}

/**
 * Checks allowed origins and makes their policy.
 * @param origins - the allowed origins, `'*'`, or `undefined` (none).
 * @param component - names the component in messages, e.g. `http-server`.
 * @param argument - the option's name in messages and `details.argument`, e.g. `cors.origins`.
 * @returns the policy.
 * @throws SyncKitError `invalid-argument` for anything but `'*'` or an array of valid origins,
 * naming the bad one and how to write it.
 * @example
 * ```ts
 * const policy = createOriginPolicy(['https://app.example.com'], 'http-server', 'cors.origins')
 * policy.allows('https://app.example.com') // true
 * ```
 */
export function createOriginPolicy(
  origins: AllowedOrigins | undefined,
  component: string,
  argument: string,
): OriginPolicy {
  if (origins === undefined) return NO_ORIGINS
  if (origins === '*') return { any: true, origins: [], allows: () => true }
  const fail = (problem: string, at = ''): SyncKitError<'invalid-argument'> =>
    new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] option ${argument}${at} ${problem}`,
      {
        argument,
      },
    )
  if (!Array.isArray(origins)) {
    throw fail(`must be '*' or an array of origins such as ['https://app.example.com']`)
  }
  const list: string[] = []
  for (const [index, origin] of (origins as readonly unknown[]).entries()) {
    const problem = originProblem(origin)
    if (problem !== undefined) throw fail(problem, `[${index}]`)
    list.push(origin as string)
  }
  const allowed = new Set(list)
  return { any: false, origins: list, allows: (origin) => allowed.has(origin) }
}

/**
 * Whether an `Origin` names the host a request was sent to (`Host`): a page served by the server
 * itself, or through the same proxy, which needs no allowance.
 * @param origin - the `Origin` header.
 * @param host - the `Host` header.
 * @returns true for the same host and port.
 */
export function isSameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined || host === '') return false
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/]+)$/i.exec(origin)
  if (match === null) return false
  const originHost = (match[1] ?? '').toLowerCase()
  const wanted = host.toLowerCase()
  if (originHost === wanted) return true
  // The Host header keeps a default port a browser's Origin leaves out.
  const scheme = origin.slice(0, origin.indexOf(':')).toLowerCase()
  const port = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : undefined
  return port !== undefined && originHost + port === wanted
}
