// `sync-kit serve` on SQLite stores the pushes read together in one commit (group commit, issue
// 10). Over real sockets, with 20 clients pushing in lockstep (HTTP and WebSocket), every push is
// answered with the counts it would get alone, only the push that conflicts fails, tenants learn
// nothing of each other through a shared commit, every live subscriber (SSE and WebSocket) gets
// each stored event once and in version order, and a server killed mid-commit lost nothing it
// acknowledged and kept no part of a push.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { startSyncServer } from '../../examples/http-mode.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import { SseReader } from '../transports/http/test-helpers.fixture.js'
import { createWebSocketTransport } from '../transports/ws/ws-transport.js'
import type { Event } from '../types/index.js'
import { serveInProcess } from './serve-in-process.fixture.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const ev = (id: string, data: Record<string, unknown>, tenant?: string): Event => ({
  id,
  type: 'Noted',
  aggregateId: 'a',
  data,
  ...(tenant === undefined ? {} : { metadata: { tenant } }),
})

/** An event as a subscriber saw it, or as the log holds it. */
interface Seen {
  readonly id: string
  readonly version: string
}

/** A push's answer: its counts, or its error code (and the error's text). */
type Outcome = { stored: number; duplicates: number } | { code: string; text: string }

async function post(url: string, events: readonly Event[], token?: string): Promise<Outcome> {
  const response = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ events }),
  })
  const text = await response.text()
  const body = JSON.parse(text) as { stored: number; duplicates: number; error?: { code: string } }
  if (body.error !== undefined) return { code: body.error.code, text }
  return { stored: body.stored, duplicates: body.duplicates }
}

/** An SSE stream from the head, once its `hello` arrived. */
async function openSse(url: string, token?: string) {
  const controller = new AbortController()
  const response = await fetch(`${url}/v1/stream`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: controller.signal,
  })
  if (response.body === null) throw new Error('no body')
  const reader = new SseReader(response.body)
  cleanups.push(() => controller.abort())
  await reader.until((r) => r.messages.some((m) => m.event === 'hello'))
  return {
    /** Reads until `last` came, then 300 ms more (a repeat would show), and ends the stream. */
    async drain(last: string): Promise<Seen[]> {
      await reader.until((r) => r.events().some((e) => e.data.event.id === last))
      const rest = reader.until(() => false).catch(() => undefined)
      await sleep(300)
      controller.abort()
      await rest
      return reader.events().map((e) => ({ id: e.data.event.id, version: e.data.version }))
    },
  }
}

function wsClient(url: string) {
  const transport = createWebSocketTransport({
    url,
    WebSocket,
    retry: { retries: 0 },
    timeoutMs: 10_000,
  })
  cleanups.push(() => transport.close())
  return transport
}

/** A WebSocket live subscriber from the head. */
async function openWsSubscriber(url: string) {
  const seen: Seen[] = []
  await wsClient(url).subscribe((events) => {
    for (const e of events) seen.push({ id: e.event.id, version: e.version.toString() })
  })
  return {
    async drain(last: string): Promise<Seen[]> {
      while (!seen.some((e) => e.id === last)) await sleep(10)
      await sleep(300)
      return [...seen]
    },
  }
}

/** The log of a SQLite file, read through a connection of its own. */
async function logOf(db: string): Promise<Seen[]> {
  const store = await openSqliteStore({ path: db })
  try {
    return (await store.load(null)).map((e) => ({ id: e.event.id, version: e.version.toString() }))
  } finally {
    await store.close()
  }
}

describe('sync-kit serve on SQLite: group commit over real sockets', () => {
  it('Given 16 HTTP and 4 WebSocket clients pushing in lockstep (with re-sent pushes, an id two clients push alike, an id two push differently), Then each push gets the counts it would alone, only the conflicting push fails, and 3 SSE and 2 WebSocket subscribers get each stored event once, in version order', async () => {
    const served = await serveInProcess([])
    cleanups.push(() => served.remove())
    cleanups.push(() => served.stop())
    const url = served.listening['url'] as string
    const sse = await Promise.all([0, 1, 2].map(() => openSse(url)))
    const ws = await Promise.all([0, 1].map(() => openWsSubscriber(url)))
    const wsPushers = [0, 1, 2, 3].map(() => wsClient(url))
    const pushAs = async (c: number, events: readonly Event[]): Promise<Outcome> => {
      if (c < 16) return post(url, events)
      try {
        const { stored, duplicates } = await (
          wsPushers[c - 16] as ReturnType<typeof wsClient>
        ).push(events)
        return { stored, duplicates }
      } catch (error) {
        return { code: String((error as { code?: unknown }).code), text: String(error) }
      }
    }
    const batch = (c: number, r: number): Event[] =>
      Array.from({ length: 5 }, (_, k) => ev(`c${c}.r${r}.${k}`, { c, r, k }))
    const rounds: Outcome[][] = []
    for (let r = 0; r < 10; r++) {
      const pushes = Array.from({ length: 20 }, (_, c) => {
        // Round 5 re-sends round 0; in round 3, client 0 (HTTP) and 16 (WebSocket) push the same
        // event, clients 2 (HTTP) and 17 (WebSocket) two different events of one id.
        const events = batch(c, r === 5 ? 0 : r)
        if (r === 3 && (c === 0 || c === 16)) events.push(ev('shared', { same: true }))
        if (r === 3 && (c === 2 || c === 17)) events.push(ev('clash', { by: c }))
        return pushAs(c, events)
      })
      rounds.push(await Promise.all(pushes))
    }
    expect(await post(url, [ev('end', {})])).toEqual({ stored: 1, duplicates: 0 })

    const fresh = { stored: 5, duplicates: 0 }
    rounds.forEach((outcomes, r) => {
      outcomes.forEach((outcome, c) => {
        if (r === 3 && [0, 16, 2, 17].includes(c)) return
        expect(outcome, `round ${r}, client ${c}`).toEqual(
          r === 5 ? { stored: 0, duplicates: 5 } : fresh,
        )
      })
    })
    const round3 = rounds[3] as Outcome[]
    expect([round3[0], round3[16]]).toContainEqual({ stored: 6, duplicates: 0 })
    expect([round3[0], round3[16]]).toContainEqual({ stored: 5, duplicates: 1 })
    const clash = [round3[2], round3[17]] as Outcome[]
    expect(clash).toContainEqual({ stored: 6, duplicates: 0 })
    expect(clash.filter((o) => 'code' in o).map((o) => (o as { code: string }).code)).toEqual([
      'event-id-conflict',
    ])
    const loser = 'code' in (round3[2] as Outcome) ? 2 : 17

    const log = await logOf(served.db)
    const stored = rounds.flat().reduce((n, o) => n + ('stored' in o ? o.stored : 0), 1)
    expect(log).toHaveLength(stored)
    expect(new Set(log.map((e) => e.id)).size).toBe(log.length)
    // The refused push stored nothing; every other event is there.
    for (let k = 0; k < 5; k++) {
      expect(log.some((e) => e.id === `c${loser}.r3.${k}`)).toBe(false)
    }
    expect(log.map((e) => e.version)).toEqual(log.map((_, i) => String(i + 1)))
    for (const subscriber of [...sse, ...ws]) expect(await subscriber.drain('end')).toEqual(log)
  })

  it('Given two tenants pushing in lockstep, one id pushed by both in the same round, Then the loser’s 409 names neither the other tenant nor its data, everything else is stored, and each tenant’s subscribers get exactly its own events once, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sync-kit-gc-tokens-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const tokens = join(dir, 'tokens.json')
    const token = { acme: 'acme-token-0123456789abcdef', globex: 'globex-token-0123456789abcd' }
    writeFileSync(
      tokens,
      JSON.stringify({
        version: 1,
        tokens: [
          { token: token.acme, tenant: 'acme' },
          { token: token.globex, tenant: 'globex' },
        ],
      }),
    )
    chmodSync(tokens, 0o600)
    const served = await serveInProcess(['--auth-tokens', tokens])
    cleanups.push(() => served.remove())
    cleanups.push(() => served.stop())
    const url = served.listening['url'] as string
    const tenants = ['acme', 'globex'] as const
    const streams = await Promise.all(
      tenants.flatMap((t) => [openSse(url, token[t]), openSse(url, token[t])]),
    )
    const rounds: Outcome[][] = []
    for (let r = 0; r < 6; r++) {
      const pushes = Array.from({ length: 12 }, (_, c) => {
        const tenant = tenants[c % 2] as 'acme' | 'globex'
        const events = Array.from({ length: 3 }, (_, k) =>
          ev(`${tenant}.c${c}.r${r}.${k}`, {}, tenant),
        )
        if (r === 2 && c < 2) events.push(ev('clash', { secret: `${tenant}-secret` }, tenant))
        return post(url, events, token[tenant])
      })
      rounds.push(await Promise.all(pushes))
    }
    await Promise.all(tenants.map((t) => post(url, [ev(`${t}.end`, {}, t)], token[t])))

    rounds.forEach((outcomes, r) =>
      outcomes.forEach((outcome, c) => {
        if (r !== 2 || c >= 2) expect(outcome).toEqual({ stored: 3, duplicates: 0 })
      }),
    )
    const pair = (rounds[2] as Outcome[]).slice(0, 2)
    expect(pair).toContainEqual({ stored: 4, duplicates: 0 })
    const lost = pair.findIndex((o) => 'code' in o)
    expect(lost).not.toBe(-1)
    const refusal = pair[lost] as { code: string; text: string }
    expect(refusal.code).toBe('event-id-conflict')
    const winner = tenants[1 - lost] as string
    expect(refusal.text).not.toContain(winner)
    expect(refusal.text).toContain('clash')

    const log = await logOf(served.db)
    const store = await openSqliteStore({ path: served.db })
    const tenantOf = new Map(
      (await store.load(null)).map((e) => [e.event.id, e.event.metadata?.tenant]),
    )
    await store.close()
    // Every push but the loser's (3 events and the clash), the winner's clash, the two ends.
    expect(log).toHaveLength(12 * 6 * 3 - 3 + 1 + 2)
    for (const [i, stream] of streams.entries()) {
      const tenant = tenants[Math.floor(i / 2)] as string
      expect(await stream.drain(`${tenant}.end`)).toEqual(
        log.filter((e) => tenantOf.get(e.id) === tenant),
      )
    }
  })

  it('Given 10 clients pushing, When sync-kit serve gets SIGTERM, Then it exits 0, every push answered 200 is in the file, every push refused is not, and none is there in part', async () => {
    const served = await serveInProcess(['--no-websocket'])
    cleanups.push(() => served.remove())
    const url = served.listening['url'] as string
    const acked: string[][] = []
    const refused: string[][] = []
    const unanswered: string[][] = []
    let stopping: Promise<number> | undefined
    const client = async (c: number): Promise<void> => {
      for (let r = 0; ; r++) {
        const ids = Array.from({ length: 10 }, (_, k) => `t${c}.${r}.${k}`)
        const outcome = await post(
          url,
          ids.map((id) => ev(id, {})),
        ).catch(() => undefined)
        if (outcome === undefined) unanswered.push(ids)
        else if ('stored' in outcome) acked.push(ids)
        else refused.push(ids)
        if (outcome === undefined || 'code' in outcome) return
        if (acked.length >= 100) stopping ??= served.stop()
      }
    }
    await Promise.all(Array.from({ length: 10 }, (_, c) => client(c)))
    expect(await stopping).toBe(0)

    const present = new Set((await logOf(served.db)).map((e) => e.id))
    for (const ids of acked) expect(ids.every((id) => present.has(id))).toBe(true)
    for (const ids of refused) expect(ids.some((id) => present.has(id))).toBe(false)
    for (const ids of unanswered) {
      expect([0, ids.length]).toContain(ids.filter((id) => present.has(id)).length)
    }
    expect(present.size).toBe(acked.length * 10)
  })

  it('Given a sync-kit serve process killed with SIGKILL while 10 clients push, Then every acknowledged push is in the file and every push is there whole or not at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sync-kit-gc-crash-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const db = join(dir, 'sync.db')
    const server = await startSyncServer({ db, args: ['--no-websocket'] })
    const sent: string[][] = []
    const acked: string[][] = []
    let killed = false
    const client = async (c: number): Promise<void> => {
      for (let r = 0; !killed; r++) {
        const ids = Array.from({ length: 20 }, (_, k) => `k${c}.${r}.${k}`)
        sent.push(ids)
        const outcome = await post(
          server.url,
          ids.map((id) => ev(id, { pad: 'x'.repeat(200) })),
        ).catch(() => undefined)
        if (outcome === undefined) return
        if ('stored' in outcome) acked.push(ids)
      }
    }
    const clients = Array.from({ length: 10 }, (_, c) => client(c))
    while (acked.length < 150) await sleep(5)
    process.kill(server.pid, 'SIGKILL')
    killed = true
    await Promise.all(clients)
    expect((await server.stop()).signal).toBe('SIGKILL')

    const present = new Set((await logOf(db)).map((e) => e.id))
    for (const ids of acked) expect(ids.every((id) => present.has(id))).toBe(true)
    for (const ids of sent) {
      const found = ids.filter((id) => present.has(id)).length
      expect([0, ids.length]).toContain(found)
    }
    expect(present.size).toBeGreaterThanOrEqual(150 * 20)
  })
})
