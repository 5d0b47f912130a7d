import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import type { SyncLogEntry } from './logger.js'
import { createSyncHandler } from './sync-handler.js'
import type { CorsOptions, SyncHandlerOptions } from './sync-handler.js'
import { BASE, SseReader, get, makeEvents, pushEvents } from './test-helpers.fixture.js'

const APP = 'https://app.example.com'
const DEV = 'http://localhost:5173'

function setup(cors: CorsOptions | undefined, options: Partial<SyncHandlerOptions> = {}) {
  const logs: SyncLogEntry[] = []
  const handler = createSyncHandler({
    store: createMemoryStore(),
    ...(cors === undefined ? {} : { cors }),
    logger: (entry) => logs.push(entry),
    ...options,
  })
  return { handler, logs }
}

function preflight(
  path: string,
  origin: string | undefined,
  method = 'POST',
  headers = 'authorization, content-type',
  extra: Record<string, string> = {},
): Request {
  return new Request(`${BASE}${path}`, {
    method: 'OPTIONS',
    headers: {
      ...(origin === undefined ? {} : { origin }),
      'access-control-request-method': method,
      ...(headers === '' ? {} : { 'access-control-request-headers': headers }),
      ...extra,
    },
  })
}

function corsHeaders(response: Response): Record<string, string> {
  const out: Record<string, string> = {}
  response.headers.forEach((value, key) => {
    if (key.startsWith('access-control-') || key === 'vary') out[key] = value
  })
  return out
}

function thrown(run: () => unknown): SyncKitError {
  try {
    run()
  } catch (error) {
    if (isSyncKitError(error)) return error
    throw error
  }
  throw new Error('did not throw')
}

describe('createSyncHandler cors: preflights', () => {
  it('Given an allowed origin, When the browser preflights a push, Then 204 with the allow headers, the max-age and Vary: Origin', async () => {
    const { handler, logs } = setup({ origins: [APP, DEV] })
    const response = await handler(preflight('/v1/events', DEV))
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
    expect(corsHeaders(response)).toEqual({
      'access-control-allow-origin': DEV,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers':
        'authorization, content-type, content-encoding, last-event-id',
      'access-control-max-age': '7200',
      vary: 'Origin',
    })
    expect(logs.at(-1)).toMatchObject({ method: 'OPTIONS', path: '/v1/events', status: 204 })
  })

  it('Given a stream route, When preflighted for its Last-Event-ID, Then only GET is offered', async () => {
    const { handler } = setup({ origins: [APP] })
    const response = await handler(
      preflight('/v1/stream', APP, 'GET', 'authorization, last-event-id'),
    )
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-methods')).toBe('GET')
  })

  it('Given an origin not in the list, When it preflights, Then 403 forbidden naming the flag that allows it, and no allow headers', async () => {
    const { handler, logs } = setup({ origins: [APP] })
    const response = await handler(preflight('/v1/events', 'https://evil.example'))
    expect(response.status).toBe(403)
    expect(corsHeaders(response)).toEqual({ vary: 'Origin' })
    const body = (await response.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('forbidden')
    expect(body.error.message).toContain('origin "https://evil.example" is not allowed')
    expect(body.error.message).toContain('sync-kit serve --cors https://evil.example')
    // The page never sees a preflight's body: the log is where the operator reads why.
    expect(logs.at(-1)).toMatchObject({ status: 403, code: 'forbidden' })
    expect(logs.at(-1)?.message).toContain('https://evil.example')
  })

  it('Given an allowed origin, When it asks for a method or a header the server does not allow, Then 403 naming it and the option to allow it', async () => {
    const { handler } = setup({ origins: [APP] })
    const method = await handler(preflight('/v1/version', APP, 'POST', ''))
    expect(method.status).toBe(403)
    expect(((await method.json()) as { error: { message: string } }).error.message).toContain(
      'method POST is not served here; use GET',
    )
    const header = await handler(preflight('/v1/events', APP, 'POST', 'content-type, x-client'))
    expect(header.status).toBe(403)
    expect(((await header.json()) as { error: { message: string } }).error.message).toContain(
      'request header "x-client" is not allowed; allow it with cors.allowHeaders',
    )
    const allowed = setup({ origins: [APP], allowHeaders: ['X-Client'] })
    const ok = await allowed.handler(preflight('/v1/events', APP, 'POST', 'content-type, x-client'))
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-headers')).toBe(
      'authorization, content-type, content-encoding, last-event-id, x-client',
    )
  })

  it("Given '*', When any origin preflights, Then Access-Control-Allow-Origin is *", async () => {
    const { handler } = setup({ origins: '*', maxAgeSeconds: 60 })
    const response = await handler(preflight('/v1/events', 'https://anyone.example'))
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-max-age')).toBe('60')
  })

  it('Given a public page calling a private address (Private Network Access), When Chromium asks, Then the preflight allows it', async () => {
    const { handler } = setup({ origins: [APP] })
    const response = await handler(
      preflight('/v1/events', APP, 'POST', 'content-type', {
        'access-control-request-private-network': 'true',
      }),
    )
    expect(response.headers.get('access-control-allow-private-network')).toBe('true')
  })

  it('Given an OPTIONS without Origin (not a browser), When sent, Then 204 with Allow', async () => {
    const { handler } = setup({ origins: [APP] })
    const response = await handler(preflight('/v1/events', undefined))
    expect(response.status).toBe(204)
    expect(response.headers.get('allow')).toBe('GET, POST, OPTIONS')
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('Given no cors option, When a browser preflights, Then 405 whose message points at the cors option', async () => {
    const { handler } = setup(undefined)
    const response = await handler(preflight('/v1/events', APP))
    expect(response.status).toBe(405)
    expect(corsHeaders(response)).toEqual({})
    const body = (await response.json()) as { error: { message: string } }
    expect(body.error.message).toContain('CORS preflight')
    expect(body.error.message).toContain('sync-kit serve --cors <origin>')
  })

  it('Given a preflight of an unknown route, When sent, Then 404, readable by the allowed page', async () => {
    const { handler } = setup({ origins: [APP] })
    const response = await handler(preflight('/v1/nope', APP))
    expect(response.status).toBe(404)
    expect(response.headers.get('access-control-allow-origin')).toBe(APP)
  })
})

describe('createSyncHandler cors: responses', () => {
  it('Given an allowed origin, When it pushes and pulls, Then each answer carries Allow-Origin, the exposed Retry-After and Vary: Origin', async () => {
    const { handler } = setup({ origins: [APP] })
    const push = await handler(pushEvents(makeEvents(2), { origin: APP }))
    expect(push.status).toBe(200)
    expect(corsHeaders(push)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'retry-after',
      vary: 'Origin',
    })
    const pull = await handler(get('/v1/events', { origin: APP }))
    expect(pull.status).toBe(200)
    expect(pull.headers.get('access-control-allow-origin')).toBe(APP)
    expect(((await pull.json()) as { events: unknown[] }).events).toHaveLength(2)
  })

  it('Given an origin not allowed, When it calls, Then the request is served but without allow headers (the browser hides it), with Vary: Origin', async () => {
    const { handler } = setup({ origins: [APP] })
    const response = await handler(get('/v1/version', { origin: 'https://evil.example' }))
    expect(response.status).toBe(200)
    expect(corsHeaders(response)).toEqual({ vary: 'Origin' })
    const sameOrigin = await handler(get('/v1/version'))
    expect(corsHeaders(sameOrigin)).toEqual({ vary: 'Origin' })
  })

  it('Given an allowed origin, When it opens the live stream, Then the SSE response carries the CORS headers', async () => {
    const { handler } = setup({ origins: [APP] })
    const response = await handler(get('/v1/stream', { origin: APP }))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('access-control-allow-origin')).toBe(APP)
    expect(response.headers.get('vary')).toBe('Origin')
    const reader = new SseReader(response.body as ReadableStream<Uint8Array>)
    await reader.until((r) => r.messages.some((m) => m.event === 'hello'))
    await reader.cancel()
    await handler.close()
  })

  it('Given an allowed origin, When the server refuses (401 from authorize, 404, 503 with Retry-After), Then the error body is readable: the headers are there too', async () => {
    const { handler } = setup(
      { origins: [APP, DEV] },
      {
        authorize: (request) =>
          request.headers.get('authorization') === 'Bearer ok'
            ? Promise.resolve(undefined)
            : Promise.reject(new SyncKitError('unauthorized', 'send a token', {})),
      },
    )
    const unauthorized = await handler(get('/v1/events', { origin: DEV }))
    expect(unauthorized.status).toBe(401)
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(DEV)
    expect(((await unauthorized.json()) as { error: { code: string } }).error.code).toBe(
      'unauthorized',
    )
    const missing = await handler(get('/v1/missing', { origin: DEV }))
    expect(missing.status).toBe(404)
    expect(missing.headers.get('access-control-allow-origin')).toBe(DEV)
    await handler.close()
    const closing = await handler(get('/v1/version', { origin: APP, authorization: 'Bearer ok' }))
    expect(closing.status).toBe(503)
    expect(corsHeaders(closing)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'retry-after',
      vary: 'Origin',
    })
    expect(closing.headers.get('retry-after')).toBe('1')
  })

  it('Given exposeHeaders, When an allowed origin calls, Then they are exposed beside retry-after', async () => {
    const { handler } = setup({ origins: [APP], exposeHeaders: ['X-Request-Id'] })
    const response = await handler(get('/v1/version', { origin: APP }))
    expect(response.headers.get('access-control-expose-headers')).toBe('retry-after, x-request-id')
  })
})

describe('createSyncHandler cors: the option is checked', () => {
  it.each([
    ['example.com', 'has no scheme; write it as https://example.com'],
    [
      'https://example.com/',
      'ends with "/"; an origin is scheme://host[:port] only: write "https://example.com"',
    ],
    [
      'https://example.com/app',
      'has a path; an origin is scheme://host[:port] only: write "https://example.com"',
    ],
    ['https://Example.com:443', 'write "https://example.com"'],
    ['https://*.example.com', 'holds a wildcard'],
    ['', 'must be a non-empty string'],
    ['*', 'allows every origin: give it alone'],
  ])(
    'Given the origin %j, When the handler is created, Then invalid-argument saying how to fix it',
    (origin, problem) => {
      const error = thrown(() => setup({ origins: [APP, origin] }))
      expect(error.code).toBe('invalid-argument')
      expect(error.details).toEqual({ argument: 'cors.origins' })
      expect(error.message).toContain(`option cors.origins[1] `)
      expect(error.message).toContain(problem)
    },
  )

  it('Given origins of apps that are not web pages (capacitor://localhost), When listed, Then they are accepted as browsers send them', async () => {
    const { handler } = setup({ origins: ['capacitor://localhost', 'http://[::1]:8080'] })
    const response = await handler(get('/v1/version', { origin: 'capacitor://localhost' }))
    expect(response.headers.get('access-control-allow-origin')).toBe('capacitor://localhost')
  })

  it('Given a malformed cors option, When the handler is created, Then invalid-argument naming the field', () => {
    expect(
      thrown(() => setup({ origins: 'https://app.example.com' as unknown as '*' })).message,
    ).toContain("option cors.origins must be '*' or an array of origins")
    expect(thrown(() => setup(null as unknown as CorsOptions)).details).toEqual({
      argument: 'cors',
    })
    expect(thrown(() => setup({ origins: [APP], maxAgeSeconds: -1 })).details).toEqual({
      argument: 'cors.maxAgeSeconds',
    })
    expect(thrown(() => setup({ origins: [APP], allowHeaders: ['bad header'] })).message).toContain(
      'cors.allowHeaders[0] must be a header name',
    )
  })
})
