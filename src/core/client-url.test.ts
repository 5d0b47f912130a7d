import { describe, expect, it } from 'vitest'

import { createHttpTransport } from '../transports/http/index.js'
import { createWebSocketTransport } from '../transports/ws/index.js'
import { checkClientUrl } from './client-calls.js'

/** The message a client's constructor throws for `url`. */
function messageFor(create: (url: string) => unknown, url: string): string {
  try {
    create(url)
  } catch (error) {
    return (error as Error).message
  }
  return '(no error)'
}

const http = (url: string): unknown => createHttpTransport({ url })
/** Never constructed: the url is checked first. */
const NoSocket = function NoSocket() {
  throw new Error('not reached')
} as unknown as new (url: string, protocols: string[]) => object
const ws = (url: string): unknown => createWebSocketTransport({ url, WebSocket: NoSocket })

describe('a client url without its scheme (issue 15 §5)', () => {
  it('Given localhost:8787, Then the HTTP client suggests http:// and the WebSocket client ws://', () => {
    expect(messageFor(http, 'localhost:8787')).toBe(
      '[sync-kit] [http-client] url "localhost:8787" has no scheme (http: or https:); did you mean "http://localhost:8787"?',
    )
    expect(messageFor(ws, 'localhost:8787')).toContain('did you mean "ws://localhost:8787"?')
    expect(messageFor(http, '127.0.0.1:8787/sync')).toContain('"http://127.0.0.1:8787/sync"?')
    expect(messageFor(ws, '[::1]:8787')).toContain('"ws://[::1]:8787"?')
  })

  it('Given a host that is not local (example.com/sync), Then the hint is the TLS scheme', () => {
    expect(messageFor(http, 'example.com/sync')).toContain(
      'did you mean "https://example.com/sync"?',
    )
    expect(messageFor(ws, 'example.com/sync')).toContain('did you mean "wss://example.com/sync"?')
  })

  it('Given a URL with a scheme, or no URL at all, Then no guess: the plain message', () => {
    expect(messageFor(http, 'ftp://x')).toBe(
      '[sync-kit] [http-client] url must be http: or https:, got ftp:',
    )
    expect(messageFor(http, 'not a url')).toBe(
      '[sync-kit] [http-client] url "not a url" is not an absolute URL',
    )
    expect(messageFor(http, '')).not.toContain('did you mean')
    expect(checkClientUrl('http://localhost:8787', ['http:', 'https:'], '[c]').port).toBe('8787')
  })
})
