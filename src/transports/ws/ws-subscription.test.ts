/**
 * The WebSocket client's live subscription against scripted servers (an in-process fake socket,
 * no network): it resumes strictly after its cursor — the `since` it was given, then the last
 * delivered event — and, like the SSE stream, it checks the subscribe answer's `latestVersion`
 * against that cursor (a server restored from a backup under the same epoch), and it holds at most
 * one unacknowledged batch of a server (one that sends without waiting for `ack` is refused, not
 * queued without bound).
 */
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { EventWithVersion } from '../../types/index.js'
import { fakeWelcome, waitFor } from './ws-raw.fixture.js'
import { createWebSocketTransport } from './ws-transport.js'

type Message = Record<string, unknown>

/** The server's side of one fake connection. */
interface Peer {
  send(message: Message | string): void
  close(code: number, reason?: string): void
}

/** Answers the client's messages on the n-th connection. */
type Script = (message: Message, peer: Peer) => void

/**
 * A WebSocket constructor whose n-th socket is served by `scripts[n]` (the last one for later
 * sockets); every message either way is delivered a macrotask later, as over a network. Records
 * what each socket's client sent.
 */
function scriptedSockets(scripts: readonly Script[]) {
  const sent: Message[][] = []
  /** Messages handed to the client so far, over every socket. */
  const delivered = { count: 0 }
  class ScriptedSocket {
    readyState = 0
    readonly #listeners = new Map<string, ((event: never) => void)[]>()
    readonly #script: Script
    readonly #index: number
    constructor() {
      this.#index = sent.length
      sent.push([])
      this.#script = scripts[Math.min(this.#index, scripts.length - 1)] as Script
      setTimeout(() => {
        this.readyState = 1
        this.#emit('open', {})
      }, 0)
    }
    addEventListener(type: string, listener: (event: never) => void): void {
      this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener])
    }
    send(text: string): void {
      const message = JSON.parse(text) as Message
      sent[this.#index]?.push(message)
      const peer: Peer = {
        send: (reply) => {
          const data = typeof reply === 'string' ? reply : JSON.stringify(reply)
          setTimeout(() => {
            if (this.readyState !== 1) return
            delivered.count++
            this.#emit('message', { data })
          }, 0)
        },
        close: (code, reason = '') => setTimeout(() => this.#closed(code, reason), 0),
      }
      setTimeout(() => this.readyState === 1 && this.#script(message, peer), 0)
    }
    close(code = 1000): void {
      this.#closed(code, '')
    }
    #closed(code: number, reason: string): void {
      if (this.readyState === 3) return
      this.readyState = 3
      this.#emit('close', { code, reason })
    }
    #emit(type: string, event: object): void {
      for (const listener of this.#listeners.get(type) ?? []) listener(event as never)
    }
  }
  return { WebSocket: ScriptedSocket, sent, delivered }
}

const welcome = fakeWelcome(60_000, 120_000)
const items = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    event: { id: `e${from + i}`, type: 'T', aggregateId: 'a', data: {} },
    version: String(from + i),
  }))

/**
 * A server script: the welcome, then the subscribe's answer (`accepted`) followed by `batches`,
 * one per `ack`; after the last batch's ack, the socket is closed with `closeAfter` (none: held
 * open).
 */
function serving(
  accepted: { epoch: string; latestVersion: string; cursor?: string },
  batches: readonly (readonly [number, number])[],
  closeAfter?: number,
): Script {
  let next = 0
  let sub: unknown
  const sendNext = (peer: Peer): void => {
    const batch = batches[next++]
    if (batch !== undefined) peer.send({ type: 'events', sub, events: items(...batch) })
    else if (closeAfter !== undefined) peer.close(closeAfter, 'scripted')
  }
  return (message, peer) => {
    if (message.type === 'hello') peer.send(welcome)
    if (message.type === 'subscribe') {
      sub = message.id
      const cursor =
        accepted.cursor ?? (message.since as string | undefined) ?? accepted.latestVersion
      peer.send({ type: 'result', id: message.id, result: { ...accepted, cursor } })
      sendNext(peer)
    }
    if (message.type === 'ack') sendNext(peer)
  }
}

function client(WebSocket: ReturnType<typeof scriptedSockets>['WebSocket']) {
  return createWebSocketTransport({
    url: 'ws://127.0.0.1:1',
    WebSocket,
    retry: { retries: 2, initialMs: 1, maxMs: 5 },
    timeoutMs: 5000,
  })
}

const numbers = (batch: readonly EventWithVersion[]): number[] =>
  batch.map((item) => Number(item.version.toString()))

describe('ws subscription: the resume position', () => {
  it('Given since 7, When the server replays from 6 and the socket then drops, Then the handler gets only what follows 7, and the resubscribe asks for since the last delivered event', async () => {
    const { WebSocket, sent } = scriptedSockets([
      serving({ epoch: 'e', latestVersion: '10' }, [[6, 10]], 1001),
      serving({ epoch: 'e', latestVersion: '12' }, [[11, 12]]),
    ])
    const transport = client(WebSocket)
    const got: number[] = []
    const sub = await transport.subscribe((batch) => void got.push(...numbers(batch)), {
      since: transport.parseVersion('7'),
    })
    await waitFor(() => got.length >= 5, 'events 8 to 12', 5000)
    await sub.unsubscribe()
    await transport.close()
    expect(got).toEqual([8, 9, 10, 11, 12])
    const subscribes = sent.map((socket) => socket.find((m) => m.type === 'subscribe'))
    expect(subscribes.map((m) => m?.since)).toEqual(['7', '10'])
  })

  it('Given no since, When subscribed, Then the subscribe names no since, the answer cursor is where it starts, and a reconnect resumes after the last delivered event', async () => {
    const { WebSocket, sent } = scriptedSockets([
      serving({ epoch: 'e', latestVersion: '4', cursor: '4' }, [[5, 6]], 1001),
      serving({ epoch: 'e', latestVersion: '7' }, [[7, 7]]),
    ])
    const transport = client(WebSocket)
    const got: number[] = []
    const sub = await transport.subscribe((batch) => void got.push(...numbers(batch)))
    await waitFor(() => got.length >= 3, 'events 5 to 7', 5000)
    await sub.unsubscribe()
    await transport.close()
    expect(got).toEqual([5, 6, 7])
    const subscribes = sent.map((socket) => socket.find((m) => m.type === 'subscribe'))
    expect(subscribes.map((m) => m?.since)).toEqual([undefined, '6'])
  })

  it('Given events delivered up to 12, When the server comes back with the same epoch but a log that ends at 7 (restored from a backup), Then the subscription ends with protocol naming the regression, as over SSE, and does not reconnect', async () => {
    const { WebSocket, sent } = scriptedSockets([
      serving(
        { epoch: 'e', latestVersion: '0' },
        [
          [1, 5],
          [6, 12],
        ],
        1001,
      ),
      serving({ epoch: 'e', latestVersion: '7' }, [[8, 9]]),
    ])
    const transport = client(WebSocket)
    const got: number[] = []
    const errors: unknown[] = []
    const sub = await transport.subscribe((batch) => void got.push(...numbers(batch)), {
      onError: (e) => errors.push(e),
    })
    const protocol = (): unknown => errors.find((e) => isSyncKitError(e, 'protocol'))
    await waitFor(() => protocol() !== undefined, 'the regression error', 5000)
    await sub.unsubscribe()
    await transport.close()
    expect(got).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(String((protocol() as Error).message)).toContain('regressed')
    // The drop before it (1001) was reported as the transient failure it is; nothing else.
    expect(errors.map((e) => isSyncKitError(e) && e.code)).toEqual(['unavailable', 'protocol'])
    expect(sent).toHaveLength(2)
  })
})

describe('ws subscription: what the client holds of a server', () => {
  it('Given a handler busy with its first batch, When a server sends batches without waiting for the ack, Then the client reads ahead up to its bound, refuses the next batch with protocol instead of queueing it, and hands over what it had read', async () => {
    let flood = 0
    const { WebSocket, delivered } = scriptedSockets([
      (message, peer) => {
        if (message.type === 'hello') peer.send(welcome)
        if (message.type !== 'subscribe') return
        peer.send({
          type: 'result',
          id: message.id,
          result: { epoch: 'e', latestVersion: '0', cursor: '0' },
        })
        // Ten batches of 500 at once, never waiting for an ack.
        for (let n = 0; n < 10; n++) {
          peer.send({ type: 'events', sub: message.id, events: items(n * 500 + 1, n * 500 + 500) })
          flood++
        }
      },
    ])
    const transport = client(WebSocket)
    const got: number[] = []
    const errors: unknown[] = []
    let release!: () => void
    const busy = new Promise<void>((resolve) => (release = resolve))
    const sub = await transport.subscribe(
      async (batch) => {
        got.push(...numbers(batch))
        await busy
      },
      { onError: (e) => errors.push(e) },
    )
    // The welcome, the answer and the ten batches all reached the client, its handler still busy.
    await waitFor(() => flood === 10 && delivered.count === 12, 'the flood', 5000)
    release()
    await waitFor(() => errors.length > 0, 'the protocol error', 5000)
    // The read-ahead bound (2,000 events) was reached with the fifth batch unacknowledged: the
    // sixth is the server's overrun. What was read is handed over; nothing after it.
    await waitFor(() => got.length >= 2500, 'the events read ahead', 5000)
    await sub.unsubscribe()
    await transport.close()
    expect(got).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1))
    expect(errors).toHaveLength(1)
    expect(isSyncKitError(errors[0], 'protocol')).toBe(true)
    expect(String((errors[0] as Error).message)).toContain('before the ack')
  })
})
