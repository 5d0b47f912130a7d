// A session on a fake socket: the send-buffer bound in bytes of UTF-8, as the socket counts its
// bufferedAmount, not in characters of the message's text; and the server's check of that bound.
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { createSyncHandler } from '../http/sync-handler.js'
import { WS_CLOSE } from './protocol.js'
import { createWebSocketServer } from './ws-server.js'
import { Session } from './ws-session.js'
import type { SessionSocket } from './ws-session.js'

/** A socket whose buffer already holds `buffered` bytes and never drains. */
function fakeSocket(buffered: number) {
  const sent: string[] = []
  const closes: number[] = []
  const socket: SessionSocket = {
    bufferedAmount: buffered,
    send: (text) => void sent.push(text),
    close: (code) => void closes.push(code),
    pause: () => undefined,
    resume: () => undefined,
  }
  return { socket, sent, closes }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(check()).toBe(true)
}

describe('ws session: the send-buffer bound', () => {
  it('Given a page of multi-byte text under the bound in characters but over it in bytes, When pulled by a reader with a full buffer, Then the socket is closed with 1013 instead of queueing it', async () => {
    const store = createMemoryStore()
    const handler = createSyncHandler({ store })
    const pushed = await handler.endpoint.server.push(
      handler.endpoint.server.checkPush([
        { id: 'e1', type: 'T', aggregateId: 'a', data: { text: '€'.repeat(20_000) } },
      ]),
    )
    expect(pushed.stored).toBe(1)
    const { socket, sent, closes } = fakeSocket(1)
    const session = new Session(socket, new Request('http://127.0.0.1/v1/ws'), {
      endpoint: handler.endpoint,
      limits: {
        maxMessageBytes: 1 << 20,
        maxBatchEvents: 100,
        maxEventBytes: 1 << 20,
        maxPageLimit: 100,
        maxPageBytes: 1 << 20,
        maxSubscriptions: 1,
      },
      // ~20 000 characters of text, ~60 000 bytes.
      maxBufferedBytes: 40_000,
      maxInFlight: 4,
      idleTimeoutMs: 60_000,
      helloTimeoutMs: 60_000,
    })
    session.receive('{"type":"hello","protocol":1}', false)
    await until(() => sent.length === 1)
    session.receive('{"type":"pull","id":1}', false)
    await until(() => closes.length === 1)
    expect(closes).toEqual([WS_CLOSE.slowConsumer])
    expect(sent).toHaveLength(1)
  })
})

describe('ws server: the send-buffer option', () => {
  it('Given a maxBufferedBytes below the handler’s maxPageBytes, When the server is created, Then it is refused naming the option: one page must fit', () => {
    const handler = createSyncHandler({ store: createMemoryStore(), maxPageBytes: 1 << 20 })
    let thrown: unknown
    try {
      createWebSocketServer({ handler, maxBufferedBytes: (1 << 20) - 1 })
    } catch (error) {
      thrown = error
    }
    expect(isSyncKitError(thrown, 'invalid-argument')).toBe(true)
    expect((thrown as SyncKitError<'invalid-argument'>).details).toEqual({
      argument: 'maxBufferedBytes',
    })
    expect(String((thrown as Error).message)).toContain('maxPageBytes (1048576)')
    expect(() => createWebSocketServer({ handler, maxBufferedBytes: 1 << 20 })).not.toThrow()
  })
})
