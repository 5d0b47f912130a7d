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
import { type ClockEntryVisitor, scanClock } from '../versions/clock-map.js'

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
   * Makes the reader of one causal context text into slot counts, giving slots to node ids met
   * for the first time: it takes the text's entries in order, from `scanClock` or from a parse
   * that walks the text.
   * @param text - the clock text.
   * @param pairs - emptied, then filled by the reader with slot, count, slot, count, … in the
   * text's order.
   * @returns the reader.
   */
  reader(text: string, pairs: number[]): ClockEntryVisitor {
    pairs.length = 0
    const names = this.names
    const next = this.#next
    let previous = -1
    return (start, end, count) => {
      let slot = next[previous + 1]
      const name = slot === undefined ? undefined : names[slot]
      if (name === undefined || name.length !== end - start || !text.startsWith(name, start)) {
        slot = this.slotOf(text.slice(start, end))
        next[previous + 1] = slot
      }
      pairs.push(slot as number, count)
      previous = slot as number
    }
  }

  /**
   * Reads a causal context text into slot counts, giving slots to node ids met for the first time.
   * @param text - a clock text `readClock` accepted.
   * @param pairs - emptied, then filled with slot, count, slot, count, … in the text's order.
   */
  read(text: string, pairs: number[]): void {
    scanClock(text, this.reader(text, pairs), true)
  }

  /** @returns how many slots there are. */
  get size(): number {
    return this.names.length
  }
}
