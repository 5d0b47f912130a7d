import type { EventStore, StoreResult } from '../../types/index.js'
import { assert, assertEqual, assertRejects, fail } from '../conformance-api.js'
import { ev } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** How long a case waits for a wake-up: generous, for stores that notify over a network. */
const WAKE_TIMEOUT_MS = 10_000

/** The optional `watch` of a store, or a failure naming what is missing. */
function watchOf(store: EventStore): NonNullable<EventStore['watch']> {
  const { watch } = store
  if (typeof watch !== 'function') {
    fail('the store has no watch; pass `watch: false` to skip the watch cases')
  }
  return watch.bind(store)
}

/** A listener that records its wake-ups (the `latest` each one gave) and can wait for one. */
interface Recorder {
  readonly wakes: (string | undefined)[]
  readonly listener: (latest?: string) => void
  /**
   * Waits for the wake-up of an append: one since `from` (the count before the append) that
   * names a version at or after the append's, or any that came after the append returned (a
   * store may wake without a version). A wake-up without a version from before the append
   * returned (a store saying it listens now) does not count.
   * @param from - `wakes.length` before the append.
   * @param returned - `wakes.length` when the append returned.
   * @param result - what the append returned.
   * @param what - names the append in the failure.
   */
  woken(from: number, returned: number, result: StoreResult, what: string): Promise<void>
}

function recorder(store: EventStore): Recorder {
  const wakes: (string | undefined)[] = []
  let onWake: (() => void) | undefined
  return {
    wakes,
    listener: (latest) => {
      wakes.push(latest)
      onWake?.()
    },
    async woken(from, returned, result, what) {
      const announced = (): boolean =>
        wakes.length > returned ||
        wakes
          .slice(from)
          .some(
            (latest) =>
              latest !== undefined && store.parseVersion(latest).compare(result.version) >= 0,
          )
      const started = Date.now()
      while (!announced()) {
        const left = WAKE_TIMEOUT_MS - (Date.now() - started)
        if (left <= 0) fail(`no wake-up within ${WAKE_TIMEOUT_MS} ms of ${what}`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          onWake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        onWake = undefined
      }
    },
  }
}

/** Stores one event and waits for `rec`'s wake-up of it. */
async function storeAndWait(
  store: EventStore,
  rec: Recorder,
  id: string,
  what: string,
): Promise<StoreResult> {
  const from = rec.wakes.length
  const result = await store.store(ev(id))
  await rec.woken(from, rec.wakes.length, result, what)
  return result
}

/** Event store conformance cases: the optional `watch` capability (a wake-up when the log grew). */
export const WATCH_CASES: CaseTable = {
  'watch: an append through the store wakes the listener, and the store then holds the event': {
    watch: true,
    async run({ store }) {
      const rec = recorder(store)
      const stop = watchOf(store)(rec.listener)
      try {
        const first = await storeAndWait(store, rec, 'w1', 'storing w1')
        const latest = await store.latestVersion()
        assert(
          latest.compare(first.version) >= 0,
          `after the wake-up latestVersion (${latest.toString()}) must be at least the event's version (${first.version.toString()})`,
        )
        const second = await storeAndWait(store, rec, 'w2', 'storing w2 (a second wake-up)')
        const loaded = await store.load(first.version)
        assertEqual(
          loaded.map((item) => item.event.id),
          ['w2'],
          'the event after the first, read from the cursor after a wake-up',
        )
        for (const latest of rec.wakes) {
          if (latest === undefined) continue
          // Whatever version a wake-up names is one of this store's.
          store.parseVersion(latest)
        }
        assert(second.version.compare(first.version) > 0, 'versions increase')
      } finally {
        await stop()
      }
    },
  },

  'watch: a stopped watcher is not woken again; other watchers are': {
    watch: true,
    async run({ store }) {
      const watch = watchOf(store)
      const stopped = recorder(store)
      const active = recorder(store)
      const stopStopped = watch(stopped.listener)
      const stopActive = watch(active.listener)
      try {
        await storeAndWait(store, stopped, 's1', 'storing s1')
        await stopStopped()
        const count = stopped.wakes.length
        // The active watcher's wake-up for s2 is the barrier: by then the stopped one would have
        // been woken too.
        await storeAndWait(store, active, 's2', 'storing s2')
        assertEqual(stopped.wakes.length, count, 'wake-ups of the stopped watcher after its stop')
        await stopStopped()
      } finally {
        await stopActive()
      }
    },
  },

  'watch: a listener that throws changes nothing: the append succeeds and others are woken': {
    watch: true,
    async run({ store }) {
      const watch = watchOf(store)
      const rec = recorder(store)
      const stopThrowing = watch(() => {
        throw new Error('a listener that throws')
      })
      const stop = watch(rec.listener)
      try {
        const result = await storeAndWait(store, rec, 't1', 'storing t1 beside a throwing listener')
        const loaded = await store.load(null)
        assertEqual(
          loaded.map((item) => item.event.id),
          ['t1'],
          'the events stored with a throwing listener',
        )
        assert(!result.duplicate, 'the append stored the event')
      } finally {
        await stopThrowing()
        await stop()
      }
    },
  },

  'watch: a listener that is not a function is refused with invalid-argument; after close, watch rejects with closed':
    {
      watch: true,
      async run({ store, createStore }) {
        const watch = watchOf(store)
        for (const listener of [undefined, null, 'f', {}]) {
          await assertRejects(
            () => watch(listener as never),
            'invalid-argument',
            `watch(${String(listener)})`,
          )
        }
        const other = await createStore()
        await other.close()
        await assertRejects(() => watchOf(other)(() => undefined), 'closed', 'watch after close()')
      },
    },
}
