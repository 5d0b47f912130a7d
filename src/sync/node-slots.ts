/**
 * Node ids as small integers (slots), for the one reader that meets every entry of every causal
 * context a replica receives: the `SyncManager`'s causal tracker. With slots, its seen clock is an
 * array, a received context is read into slot counts mostly without a string per entry, and
 * relating an event to an aggregate's heads is an array read per head instead of a map lookup
 * on a parsed clock.
 *
 * A replica's slots grow with the writers it has seen, as its seen clock always did.
 *
 * @module
 */
import { type ClockSpans, scanClock } from '../versions/clock-map.js'

/** The node ids one tracker has met, each with a slot (0, 1, 2, … in the order first met). */
export class NodeSlots {
  readonly #slots = new Map<string, number>()
  /** Slot → node id. */
  readonly names: string[] = []
  /**
   * Slot + 1 → the slot that followed it in the last context read (at 0: the first entry's):
   * contexts are sorted and mostly name the same writers, so the next entry is mostly found by
   * one comparison in place, without slicing its node id out.
   */
  readonly #next: number[] = []

  /**
   * @param node - a node id.
   * @returns its slot, given now if it had none.
   */
  slotOf(node: string): number {
    let slot = this.#slots.get(node)
    if (slot === undefined) {
      slot = this.names.push(node) - 1
      this.#slots.set(node, slot)
    }
    return slot
  }

  /**
   * @param node - a node id.
   * @returns its slot, or `undefined` when it has none.
   */
  peek(node: string): number | undefined {
    return this.#slots.get(node)
  }

  /**
   * Turns the entries of one causal context text into slot counts, giving slots to node ids met
   * for the first time.
   * @param text - the clock text.
   * @param spans - its entries, as `scanClock` gives them.
   * @param n - their number.
   * @param pairs - gets slot, count, slot, count, … in the text's order, from index 0.
   */
  pairsOf(text: string, spans: ClockSpans, n: number, pairs: number[]): void {
    const names = this.names
    const next = this.#next
    let previous = -1
    for (let k = 0; k < n; k++) {
      const start = spans[3 * k] as number
      const end = spans[3 * k + 1] as number
      let slot = next[previous + 1]
      const name = slot === undefined ? undefined : names[slot]
      if (name === undefined || name.length !== end - start || !text.startsWith(name, start)) {
        slot = this.slotOf(text.slice(start, end))
        next[previous + 1] = slot
      }
      pairs[2 * k] = slot as number
      pairs[2 * k + 1] = spans[3 * k + 2] as number
      previous = slot as number
    }
  }

  /**
   * Reads a causal context text into slot counts, giving slots to node ids met for the first time.
   * @param text - a clock text `readClock` accepted.
   * @param pairs - gets slot, count, slot, count, … in the text's order, from index 0.
   * @param spans - scratch for the walk.
   * @returns the number of pairs written (the clock's entries).
   */
  read(text: string, pairs: number[], spans: ClockSpans): number {
    const n = scanClock(text, spans, true)
    this.pairsOf(text, spans, n, pairs)
    return n
  }

  /** @returns how many slots there are. */
  get size(): number {
    return this.names.length
  }
}
