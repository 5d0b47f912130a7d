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

/** `node:count` pairs joined by `,`: node ids of `A-Z a-z 0-9 . _ ~ -`, counts without zeros. */
const CLOCK_TEXT = /^[\w.~-]{1,64}:[1-9]\d{0,15}(,[\w.~-]{1,64}:[1-9]\d{0,15})*$/

/**
 * A vector clock read from its text: node id → count (absent ids count 0), in the text's order,
 * and printing as that text.
 */
export class ClockMap extends Map<string, number> {
  /** The text it was read from. */
  readonly text: string

  /**
   * Made by {@link readClock}.
   * @param text - the text form.
   */
  constructor(text: string) {
    super()
    this.text = text
  }

  /** The text form, e.g. `a:3,b:1`. */
  override toString(): string {
    return this.text
  }
}

/**
 * Reads the text form of a vector clock.
 * @param text - e.g. `a:3,b:1`, or `""` for the empty clock.
 * @returns the clock, or `undefined` for anything but sorted, unique `node:count` pairs with
 * positive safe-integer counts, at most {@link MAX_VECTOR_CLOCK_ENTRIES} of them.
 */
export function readClock(text: unknown): ClockMap | undefined {
  if (typeof text !== 'string') return undefined
  const clock = new ClockMap(text)
  if (text === '') return clock
  if (!CLOCK_TEXT.test(text)) return undefined
  // Entry by entry (no split, no string per entry but the node id): this runs for every event
  // received.
  let previous = ''
  for (let i = 0; i < text.length; i++) {
    const colon = text.indexOf(':', i)
    const node = text.slice(i, colon)
    // The digits (the pattern checked them), read in place up to the comma or the end.
    let count = 0
    for (i = colon + 1; i < text.length && text.charCodeAt(i) !== 44; i++) {
      count = count * 10 + text.charCodeAt(i) - 48
    }
    // Byte order: node ids are ASCII.
    if (node <= previous || count > Number.MAX_SAFE_INTEGER) return undefined
    if (clock.size === MAX_VECTOR_CLOCK_ENTRIES) return undefined
    clock.set(node, count)
    previous = node
  }
  return clock
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
