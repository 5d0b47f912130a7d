/**
 * A plain-text document edited by trace patches, indexed by Unicode code point.
 *
 * @example
 * ```ts
 * import { TextDocument } from './traces/text-document.js'
 *
 * const doc = TextDocument.from('héllo')
 * doc.apply([1, 1, 'e'])
 * doc.toString() // 'hello'
 * ```
 *
 * @module
 */
import { SyncKitError } from 'sync-kit'
import type { TracePatch } from './trace-file.js'

/**
 * Target number of code points per chunk. A chunk grows to twice this before it is split, so a
 * patch moves at most ~1k array slots instead of the whole document: the plain one-array splice
 * took ~5.7 s for the 259,778 txns of automerge-paper, this takes well under a second.
 */
const CHUNK_SIZE = 512
const MAX_CHUNK_SIZE = CHUNK_SIZE * 2

/**
 * A text document as a list of chunks of Unicode code points (a simple chunked rope), so that
 * splicing at any position costs O(chunks + chunk size) rather than O(document length).
 *
 * Positions and lengths count code points, not UTF-16 units: an emoji such as `😀` is one
 * position, as in the editing-traces data set.
 *
 * Unlike `Array.prototype.splice`, a patch that reaches past the end of the document is rejected
 * instead of clamped: in a replay it means the patches were applied out of order or the trace is
 * corrupt, and silently clamping would hide that.
 *
 * @example
 * ```ts
 * import { TextDocument } from './traces/text-document.js'
 *
 * const doc = TextDocument.from('')
 * doc.applyAll([[0, 0, 'Hi 😀'], [3, 1, '🎉']])
 * doc.toString() // 'Hi 🎉'
 * doc.length // 4
 * ```
 */
export class TextDocument {
  /** Non-empty chunks of code points, each at most {@link MAX_CHUNK_SIZE} long. */
  private chunks: string[][] = []
  private size = 0

  /**
   * Creates a document holding `content`.
   * @param content - the initial text.
   * @returns the document.
   */
  static from(content: string): TextDocument {
    const doc = new TextDocument()
    doc.insertAt(0, Array.from(content))
    return doc
  }

  /** The length in code points. */
  get length(): number {
    return this.size
  }

  /**
   * Applies one patch: at code point `pos`, delete `numDeleted` code points, then insert
   * `inserted`.
   * @param patch - `[pos, numDeleted, inserted]`.
   * @throws SyncKitError `invalid-argument` when `pos` or `numDeleted` is not a non-negative
   * integer or the deleted range reaches past the end of the document; the document is unchanged.
   */
  apply(patch: TracePatch): void {
    const [pos, numDeleted, inserted] = patch
    if (!isCount(pos) || !isCount(numDeleted) || pos + numDeleted > this.size) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [trace-demo] patch [${String(pos)}, ${String(numDeleted)}, …] does not fit a document of ${this.size} code points; apply patches in trace order to the document they were recorded on`,
        { argument: 'patch' },
      )
    }
    if (numDeleted > 0) this.deleteAt(pos, numDeleted)
    if (inserted.length > 0) {
      // A single UTF-16 unit is one code point unless it is a lone surrogate half, which Array.from
      // would also keep as one element: the fast path gives the same result.
      this.insertAt(pos, inserted.length === 1 ? [inserted] : Array.from(inserted))
    }
  }

  /**
   * Applies patches in order (see {@link TextDocument.apply}).
   * @param patches - the patches.
   * @throws SyncKitError `invalid-argument` as {@link TextDocument.apply}; patches before the bad
   * one stay applied.
   */
  applyAll(patches: readonly TracePatch[]): void {
    for (const patch of patches) this.apply(patch)
  }

  /**
   * The text.
   * @returns the whole document as a string.
   */
  toString(): string {
    let text = ''
    for (const chunk of this.chunks) text += chunk.join('')
    return text
  }

  /** Index of the chunk holding code point `pos` and the offset in it; `pos === size` → past end. */
  private locate(pos: number): { index: number; offset: number } {
    let start = 0
    for (let index = 0; index < this.chunks.length; index++) {
      const length = (this.chunks[index] as string[]).length
      if (pos < start + length) return { index, offset: pos - start }
      start += length
    }
    return { index: this.chunks.length, offset: 0 }
  }

  private deleteAt(pos: number, count: number): void {
    let { index, offset } = this.locate(pos)
    let remaining = count
    while (remaining > 0) {
      const chunk = this.chunks[index] as string[]
      const take = Math.min(remaining, chunk.length - offset)
      chunk.splice(offset, take)
      remaining -= take
      if (chunk.length === 0) {
        this.chunks.splice(index, 1)
      } else {
        index++
      }
      offset = 0
    }
    this.size -= count
  }

  private insertAt(pos: number, codePoints: string[]): void {
    if (codePoints.length === 0) return
    let index: number
    let offset: number
    if (pos === this.size && this.chunks.length > 0) {
      // Appending (typing at the end) is the most common edit: extend the last chunk.
      index = this.chunks.length - 1
      offset = (this.chunks[index] as string[]).length
    } else {
      ;({ index, offset } = this.locate(pos))
      if (index === this.chunks.length) this.chunks.push([])
    }
    const chunk = this.chunks[index] as string[]
    if (codePoints.length === 1) {
      chunk.splice(offset, 0, codePoints[0] as string)
    } else {
      // Spread-free splice: a pasted block can exceed the engine's argument-count limit.
      const tail = chunk.splice(offset)
      for (const codePoint of codePoints) chunk.push(codePoint)
      for (const codePoint of tail) chunk.push(codePoint)
    }
    this.size += codePoints.length
    if (chunk.length > MAX_CHUNK_SIZE) this.split(index)
  }

  private split(index: number): void {
    const chunk = this.chunks[index] as string[]
    const pieces: string[][] = []
    for (let start = 0; start < chunk.length; start += CHUNK_SIZE) {
      pieces.push(chunk.slice(start, start + CHUNK_SIZE))
    }
    // concat, not a spread into splice: a huge paste could exceed the argument-count limit.
    this.chunks = this.chunks.slice(0, index).concat(pieces, this.chunks.slice(index + 1))
  }
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0
}
