import type { Event, JsonValue } from '../../types/index.js'
import { assert, assertEqual, assertRejects } from '../conformance-api.js'
import { assertEvents, ev, ids, storeAll } from './helpers.js'
import type { CaseTable } from './helpers.js'

const JSON_DATA: JsonValue = {
  nested: { a: { b: { c: [1, [2, [3, {}]]] } } },
  array: [1, 'two', null, true, false, { x: [] }, [[]]],
  nothing: null,
  numbers: [
    0,
    1,
    -1,
    1.5,
    -2.25,
    0.1,
    1e-7,
    123456789.125,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    1e300,
    -1e-300,
    5e-324,
    Number.MAX_VALUE,
  ],
  emptyObject: {},
  emptyArray: [],
  emptyString: '',
  escapes: 'quote " backslash \\ slash / newline \n tab \t cr \r',
  control: '\u0001\u001f\u007f',
  bool: true,
  'key with spaces': 1,
  '': 'empty key',
  '0': 'numeric key',
}

const UNICODE = {
  emoji: '😀👩‍👩‍👧‍👦🏳️‍🌈',
  combining: 'e\u0301 a\u0308 n\u0303 (decomposed), é ä ñ (composed)',
  rtl: 'שלום עולם مرحبا \u202Ebidi override\u202C',
  nul: 'before\u0000after',
  astral: '𝌆 𐍈 🀄',
  cjk: '漢字かなカナ한국어',
} as const

/** Event store conformance cases: round trips of JSON data, Unicode and metadata. */
export const ROUND_TRIP_CASES: CaseTable = {
  'JSON data round-trips unchanged': {
    async run({ store }) {
      const events = [
        ev('j1', { data: JSON_DATA }),
        ev('j2', { data: null }),
        ev('j3', { data: 0 }),
        ev('j4', { data: -12.5 }),
        ev('j5', { data: 'just a string' }),
        ev('j6', { data: [] }),
        ev('j7', { data: {} }),
        ev('j8', { data: false }),
        ev('j9', { data: [[[[[[[[[['deep']]]]]]]]]] }),
      ]
      await storeAll(store, events)
      assertEvents(await store.load(null), events, 'JSON values')
      assertEvents(await store.loadByAggregate('agg-1', null), events, 'JSON values by aggregate')
    },
  },

  'Unicode round-trips unchanged': {
    async run({ store }) {
      const all = Object.values(UNICODE).join(' | ')
      const events = [
        ev(`ü-${UNICODE.emoji}-${UNICODE.rtl.slice(0, 9)}`, {
          type: `Typ${UNICODE.combining.slice(0, 2)}`,
          aggregateId: `agg-${UNICODE.cjk}-${UNICODE.astral}`,
          data: { ...UNICODE, all, [UNICODE.emoji]: UNICODE.nul, [UNICODE.nul]: UNICODE.rtl },
          metadata: { tenant: `tenant-${UNICODE.emoji}`, [UNICODE.cjk]: UNICODE.combining },
        }),
      ]
      await storeAll(store, events)
      assertEvents(await store.load(null), events, 'Unicode strings')
      const first = events[0] as Event
      assertEvents(
        await store.loadByAggregate(first.aggregateId, null),
        events,
        'Unicode aggregate id',
      )
      assertEvents(
        await store.load(null, {
          filters: [
            { key: 'type', value: first.type },
            { key: 'tenant', value: `tenant-${UNICODE.emoji}` },
          ],
        }),
        events,
        'Unicode filter values',
      )
    },
  },

  'lone surrogates are preserved exactly or rejected with invalid-event': {
    async run({ store }) {
      // sync-kit's own stores reject lone surrogates (they cannot be encoded as UTF-8); a store
      // may instead keep them exactly. What it must not do is change them silently.
      const samples = ['\uD800', 'a\uDC00b', '\uDBFF\uDBFF', 'end\uD83D']
      let n = 0
      for (const sample of samples) {
        for (const event of [
          ev(`lone-data-${++n}`, { data: { s: sample } }),
          ev(`lone-key-${++n}`, { data: { [sample]: 1 } }),
          ev(`lone-meta-${++n}`, { metadata: { note: sample } }),
          ev(`lone-id-${sample}`),
        ]) {
          let stored = true
          try {
            await store.store(event)
          } catch (error) {
            stored = false
            await assertRejects(
              () => Promise.reject(error),
              'invalid-event',
              `storing a lone surrogate in "${JSON.stringify(event.id)}"`,
            )
          }
          const loaded = (await store.load(null)).filter((r) => r.event.id === event.id)
          if (stored) assertEvents(loaded, [event], 'a lone surrogate kept')
          else assertEqual(ids(loaded), [], 'a rejected event is not stored')
        }
      }
    },
  },

  'metadata round-trips unchanged': {
    async run({ store }) {
      const events = [
        ev('m1', {
          metadata: {
            tenant: 'tenant-1',
            hlc: '018f2a3b4c5d-0001-replica-a',
            origin: 'replica-a',
            causal: 'replica-a:3,replica-b:1',
            custom: { nested: [1, 'x', null, { deep: true }] },
            n: 0,
            flag: false,
          },
        }),
        ev('m2'),
        ev('m3', { metadata: { only: 'custom' } }),
      ]
      await storeAll(store, events)
      const loaded = await store.load(null)
      assertEvents(loaded, events, 'metadata')
      const m2 = loaded[1]?.event.metadata
      assert(
        m2 === undefined || Object.keys(m2).length === 0,
        `an event stored without metadata must come back without metadata (or with {}), got ${JSON.stringify(m2)}`,
      )
    },
  },
}
