import { createParser } from 'eventsource-parser'
import type { EventSourceMessage } from 'eventsource-parser'
import type { Event, EventStore } from '../../types/index.js'

/** Test-only helpers shared by the HTTP tests (not exported from the package). */

export const BASE = 'http://sync.test'

export function makeEvent(id: string, overrides: Partial<Event> = {}): Event {
  return {
    id,
    type: 'ItemAdded',
    aggregateId: 'agg-1',
    data: { title: `item ${id}` },
    ...overrides,
  }
}

export function makeEvents(count: number, prefix = 'e'): Event[] {
  return Array.from({ length: count }, (_, i) => makeEvent(`${prefix}${i + 1}`))
}

export function pushRequest(
  body: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
  path = '/v1/events',
): Request {
  const init: RequestInit & { duplex?: 'half' } = {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  }
  if (body instanceof ReadableStream) init.duplex = 'half'
  return new Request(`${BASE}${path}`, init)
}

export function pushEvents(
  events: readonly unknown[],
  headers: Record<string, string> = {},
): Request {
  return pushRequest(JSON.stringify({ events }), headers)
}

/** POSTs `{ events }` to a running server's `/v1/events`. */
export function postEvents(url: string, events: readonly unknown[]): Promise<Response> {
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  })
}

export function get(pathAndQuery: string, headers: Record<string, string> = {}): Request {
  return new Request(`${BASE}${pathAndQuery}`, { headers })
}

export async function gzip(
  data: string | Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream('gzip'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** Reads server-sent events from a response body until `done` says so. */
export class SseReader {
  readonly messages: EventSourceMessage[] = []
  comments = 0
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly decoder = new TextDecoder()
  private readonly parser = createParser({
    onEvent: (message) => this.messages.push(message),
    onComment: () => {
      this.comments++
    },
  })
  ended = false

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader()
  }

  /** Reads chunks until the predicate holds or the stream ends. */
  async until(done: (reader: SseReader) => boolean): Promise<void> {
    while (!done(this)) {
      const { done: end, value } = await this.reader.read()
      if (end) {
        this.ended = true
        return
      }
      this.parser.feed(this.decoder.decode(value, { stream: true }))
    }
  }

  events(): { id: string | undefined; data: { event: Event; version: string } }[] {
    return this.messages
      .filter((m) => m.event === 'event')
      .map((m) => ({ id: m.id, data: JSON.parse(m.data) as { event: Event; version: string } }))
  }

  async cancel(): Promise<void> {
    await this.reader.cancel()
  }
}

function unsupported(): never {
  throw new Error('the wrapped store has no storeBatch')
}

/** A plain-object copy of a store's methods, so single methods can be replaced. */
export function wrapStore(store: EventStore): EventStore {
  return {
    store: (e, o) => store.store(e, o),
    storeBatch: (e, o) => (store.storeBatch ?? unsupported)(e, o),
    load: (s, o) => store.load(s, o),
    loadByAggregate: (a, s, o) => store.loadByAggregate(a, s, o),
    latestVersion: (o) => store.latestVersion(o),
    parseVersion: (v) => store.parseVersion(v),
    getCheckpoint: (k, o) => store.getCheckpoint(k, o),
    setCheckpoint: (k, v, o) => store.setCheckpoint(k, v, o),
    close: () => store.close(),
  }
}
