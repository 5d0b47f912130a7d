import type { Event, EventWithVersion, PullResult, Transport, Version } from '../../types/index.js'
import { assert, fail } from '../conformance-api.js'

// Shared by the cases of the transport conformance suite (one module, no copies): fixtures,
// pulling everything, live collectors and waits. Internal: not exported from `sync-kit/testing`.

/** Time given to a misbehaving transport to deliver what it must not, before checking. */
export const GRACE_MS = 50

/** What a case gets: the transport under test and how to reach the remote. */
export interface CaseContext {
  readonly transport: Transport
  /** The peer, or the transport itself when the setup has no peer. */
  readonly pusher: Transport
  readonly peer: Transport | undefined
  readonly timeoutMs: number
}

/** One case of the transport suite. */
export type CaseBody = (context: CaseContext) => Promise<void>

/** Cases of one topic, by case name (a name of `TRANSPORT_CASES`). */
export type CaseTable = Readonly<Record<string, CaseBody>>

export function makeEvent(id: string, overrides: Partial<Event> = {}): Event {
  return {
    id,
    type: 'ItemChanged',
    aggregateId: `agg-${id}`,
    data: { name: `item ${id}`, n: 1 },
    ...overrides,
  }
}

export function makeEvents(count: number, prefix = 'e'): Event[] {
  return Array.from({ length: count }, (_, i) => makeEvent(`${prefix}${i + 1}`))
}

export async function pullAll(
  transport: Transport,
  since: Version | null = null,
): Promise<EventWithVersion[]> {
  const all: EventWithVersion[] = []
  let cursor = since
  for (let page = 0; page < 1000; page++) {
    const result: PullResult = await transport.pull(cursor, { limit: 100 })
    all.push(...result.events)
    const last = result.events.at(-1)
    if (!result.hasMore) return all
    assert(last !== undefined, 'a page with hasMore true must contain events')
    cursor = last.version
  }
  fail('pull reported hasMore for more than 1000 pages')
}

export function ids(items: readonly EventWithVersion[]): string[] {
  return items.map((item) => item.event.id)
}

export function assertIncreasing(items: readonly EventWithVersion[], what: string): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    assert(item !== undefined, what)
    assert(!item.version.isZero(), `${what}: version of "${item.event.id}" must not be zero`)
    const previous = items[i - 1]
    if (previous !== undefined) {
      assert(
        item.version.compare(previous.version) > 0,
        `${what}: version ${item.version.toString()} of "${item.event.id}" must be greater than ${previous.version.toString()}`,
      )
    }
  }
}

export function sameVersion(a: Version, b: Version): boolean {
  return a.compare(b) === 0 && a.toString() === b.toString()
}

export interface Collector {
  readonly received: EventWithVersion[]
  readonly handler: (batch: readonly EventWithVersion[]) => void
}

export function collector(): Collector {
  const received: EventWithVersion[] = []
  return { received, handler: (batch) => void received.push(...batch) }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}
