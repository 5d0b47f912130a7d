/**
 * The one reader and writer of the vector-clock text form, `a:3,b:1`, and the one comparison of
 * two clocks. The `VectorClock` class is built on them, and so are the causal contexts the
 * `SyncManager` reads and writes (`src/causality/`): an app that only syncs ships these few
 * functions, not the class.
 *
 * @module
 */

/**
 * Largest number of entries (distinct node ids) a vector clock may hold: 1024. Past it,
 * `increment`/`merge` throw `clock-overflow` and `parse` throws `version-parse`, instead of letting
 * every event's causal context grow without bound. The `SyncManager` never meets it: its seen clock
 * is not a `VectorClock`, and the contexts it writes keep at most 512 entries (rule 4 of
 * docs/causality.md).
 */
export const MAX_VECTOR_CLOCK_ENTRIES = 1024

/** How two vector clocks relate causally. */
export type CausalRelation = 'before' | 'after' | 'equal' | 'concurrent'

/** A node id: 1–64 characters of `A-Z a-z 0-9 . _ ~ -` (clocks' and HLC stamps' alike). */
// eslint-disable-next-line @typescript-eslint/no-inferrable-types -- isolatedDeclarations asks for it
export const NODE_ID: RegExp = /^[\w.~-]{1,64}$/

/** Compares `text[a, aEnd)` with `text[b, bEnd)` in byte order (node ids are ASCII), unsliced. */
function compareSpans(text: string, a: number, aEnd: number, b: number, bEnd: number): number {
  for (; a < aEnd && b < bEnd; a++, b++) {
    const d = text.charCodeAt(a) - text.charCodeAt(b)
    if (d !== 0) return d
  }
  return aEnd - a - (bEnd - b)
}

/**
 * Where {@link scanClock} puts the entries it walked: for entry `i`, in the text's order,
 * `spans[3i]` and `spans[3i + 1]` are the node id's span `text[start, end)` (not sliced: the
 * caller slices or matches it) and `spans[3i + 2]` its count; the number of entries is what the
 * walk returns (a clock's `size`), and what lies past them is left from earlier walks. The caller
 * keeps one array and reuses it: walking a clock calls no function per entry and, once the array
 * has grown, allocates nothing.
 */
export type ClockSpans = number[]

/**
 * Walks the text form of a vector clock once, checking it: node ids of 1–64 characters
 * `A-Z a-z 0-9 . _ ~ -`, strictly increasing in byte order, each followed by `:` and a count
 * without leading zeros from 1 to 2^53 − 1, entries joined by `,`, at most
 * {@link MAX_VECTOR_CLOCK_ENTRIES} of them (`""` is the empty clock). Node ids are not sliced out:
 * `spans` gets their span, to slice or to match in place.
 *
 * When the result is -1, `spans` may hold the entries before the fault (a character, the order,
 * a count).
 * @param text - the text form.
 * @param spans - given each entry's `start, end, count`, in the text's order, from index 0.
 * @param checked - the text was accepted before: only walk it (no character, order or count test).
 * @returns the number of entries, or -1 when the text is not a vector clock.
 */
export function scanClock(text: string, spans: ClockSpans, checked?: boolean): number {
  const n = text.length
  if (n === 0) return 0
  let entries = 0
  let previous = 0
  let previousEnd = 0
  for (let i = 0; ; i++) {
    // The node id, up to its colon.
    const start = i
    let c = 0
    while (i < n && isIdChar((c = text.charCodeAt(i)))) i++
    const end = i
    if (
      !checked &&
      (c !== 58 ||
        end === start ||
        end - start > 64 ||
        (entries > 0 && compareSpans(text, start, end, previous, previousEnd) <= 0) ||
        entries === MAX_VECTOR_CLOCK_ENTRIES)
    ) {
      return -1
    }
    // The count, up to the comma or the end: 1–16 digits without a leading zero.
    const digits = ++i
    let count = 0
    while (i < n && (c = text.charCodeAt(i)) >= 48 && c <= 57) {
      count = count * 10 + (c - 48)
      i++
    }
    if (
      !checked &&
      (i === digits ||
        i - digits > 16 ||
        text.charCodeAt(digits) === 48 ||
        count > Number.MAX_SAFE_INTEGER ||
        (i < n && c !== 44))
    ) {
      return -1
    }
    const k = 3 * entries
    spans[k] = start
    spans[k + 1] = end
    spans[k + 2] = count
    entries++
    if (i >= n) return entries
    previous = start
    previousEnd = end
  }
}

/**
 * Tells whether a character code is one of a node id's: `- .`, `0-9`, `A-Z a-z` (`| 32` turns an
 * upper-case letter into its lower case), `_ ~`.
 */
const isIdChar = (c: number): boolean =>
  (c >= 45 && c <= 57 && c !== 47) || ((c | 32) >= 97 && (c | 32) <= 122) || c === 95 || c === 126

/**
 * A vector clock read from its text: node id → count (absent ids count 0), in the text's order,
 * and printing as that text. Read-only: one parsed clock is shared by every reader of an event
 * (`src/causality/causal-context.ts`).
 *
 * It keeps only the checked text until it is iterated: `get` and `has` search the text (most
 * clocks are asked for one or two counts: a writer's dot, a relation of two events), and the
 * first iteration builds the map of entries, which later lookups use.
 */
export class ClockMap implements ReadonlyMap<string, number> {
  /** The text it was read from. */
  readonly text: string
  /** Number of entries (nodes with a count). */
  readonly size: number
  /** The largest count, 0 for the empty clock. */
  readonly max: number
  #map: Map<string, number> | undefined

  /**
   * Made by {@link readClock}, from a text {@link scanClock} accepted.
   * @param text - the text form.
   * @param size - its number of entries.
   * @param max - its largest count.
   */
  constructor(text: string, size: number, max: number) {
    this.text = text
    this.size = size
    this.max = max
  }

  /**
   * The count of one node.
   * @param node - a node id.
   * @returns its count, `undefined` when the clock has none.
   */
  get(node: string): number | undefined {
    return this.#map === undefined ? countIn(this.text, node) : this.#map.get(node)
  }

  /**
   * @param node - a node id.
   * @returns true when the clock has a count for it.
   */
  has(node: string): boolean {
    return this.get(node) !== undefined
  }

  /**
   * Calls `callback` for each entry, in the text's order.
   * @param callback - gets the count, the node id and this clock.
   * @param thisArg - `this` for the callback.
   */
  forEach(
    callback: (count: number, node: string, clock: ReadonlyMap<string, number>) => void,
    thisArg?: unknown,
  ): void {
    for (const [node, count] of this.#entries()) callback.call(thisArg, count, node, this)
  }

  /** @returns the `[node, count]` entries, in the text's order. */
  entries(): MapIterator<[string, number]> {
    return this.#entries().entries()
  }

  /** @returns the node ids, in the text's order. */
  keys(): MapIterator<string> {
    return this.#entries().keys()
  }

  /** @returns the counts, in the text's order. */
  values(): MapIterator<number> {
    return this.#entries().values()
  }

  /** @returns the `[node, count]` entries, in the text's order. */
  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries()
  }

  /** The text form, e.g. `a:3,b:1`. */
  toString(): string {
    return this.text
  }

  #entries(): Map<string, number> {
    if (this.#map === undefined) {
      const map = new Map<string, number>()
      const text = this.text
      const spans: ClockSpans = []
      // One walk (the bound is read once, not a walk per entry), then its entries.
      for (let i = 0, end = 3 * scanClock(text, spans, true); i < end; i += 3) {
        map.set(text.slice(spans[i], spans[i + 1]), spans[i + 2] as number)
      }
      this.#map = map
    }
    return this.#map
  }
}

/** The count of `node` in a checked clock text, found without parsing the other entries. */
function countIn(text: string, node: string): number | undefined {
  // Only a node id can be in a clock (and only one is found unambiguously at an entry's start).
  if (!NODE_ID.test(node)) return undefined
  const n = node.length
  for (let at = text.indexOf(node); at !== -1; at = text.indexOf(node, at + 1)) {
    if ((at === 0 || text.charCodeAt(at - 1) === 44) && text.charCodeAt(at + n) === 58) {
      let count = 0
      for (let i = at + n + 1; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (c === 44) break
        count = count * 10 + (c - 48)
      }
      return count
    }
  }
  return undefined
}

/** Scratch of {@link readClock} when its caller keeps no spans (the walk is synchronous). */
const scratch: ClockSpans = []

/**
 * Reads the text form of a vector clock (checked by {@link scanClock}).
 * @param text - e.g. `a:3,b:1`, or `""` for the empty clock.
 * @param spans - also gets each entry during the same walk (as {@link scanClock}'s `spans`: it
 * may hold some entries of a text that turns out not to be a clock).
 * @returns the clock, or `undefined` for anything but sorted, unique `node:count` pairs with
 * positive safe-integer counts, at most {@link MAX_VECTOR_CLOCK_ENTRIES} of them.
 */
export function readClock(text: unknown, spans: ClockSpans = scratch): ClockMap | undefined {
  if (typeof text !== 'string') return undefined
  const size = scanClock(text, spans)
  if (size < 0) return undefined
  let max = 0
  for (let i = 2; i < 3 * size; i += 3) if ((spans[i] as number) > max) max = spans[i] as number
  return new ClockMap(text, size, max)
}

/**
 * Writes the text form of a vector clock: sorted by node id (byte order), `node:count` joined by
 * `,`.
 * @param entries - node ids and positive counts, each id once.
 * @returns the text, `""` for no entries.
 */
export function writeClock(entries: Iterable<readonly [string, number]>): string {
  return [...entries]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([node, count]) => `${node}:${count}`)
    .join(',')
}

/**
 * The causal relation of two clocks.
 * @param a - one clock.
 * @param b - another clock.
 * @returns `before` (every count of `a` ≤ `b`'s, and they differ), `after`, `equal`, or
 * `concurrent`.
 */
export function clockRelation(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
): CausalRelation {
  const le = isDominated(a, b)
  const ge = isDominated(b, a)
  return le ? (ge ? 'equal' : 'before') : ge ? 'after' : 'concurrent'
}

/**
 * Tells whether every count of `a` is ≤ the count of `b` for the same node.
 * @param a - one clock.
 * @param b - another clock.
 * @returns true when `b` has seen everything `a` has.
 */
export function isDominated(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
): boolean {
  for (const [node, count] of a) if (count > (b.get(node) ?? 0)) return false
  return true
}
