import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { isSyncKitError } from 'sync-kit'
import { TextDocument } from './text-document.js'
import type { TracePatch } from './trace-file.js'
import { bundledTracePath, loadTrace } from './trace-file.js'

/** The reference: `Array.prototype.splice` on an array of code points, as the data set defines. */
function naiveApply(content: string, patches: readonly TracePatch[]): string {
  const codePoints = Array.from(content)
  for (const [pos, numDeleted, inserted] of patches) {
    codePoints.splice(pos, numDeleted, ...Array.from(inserted))
  }
  return codePoints.join('')
}

describe('TextDocument', () => {
  it('replays the friendsforever_flat trace to its endContent', async () => {
    // Given the real two-author trace, linearised
    const trace = await loadTrace(bundledTracePath('sequential-friendsforever_flat.json.gz'))
    if (trace.kind !== 'sequential') throw new Error('expected a sequential trace')
    // When every patch of every txn is applied in order
    const doc = TextDocument.from(trace.startContent)
    for (const txn of trace.txns) doc.applyAll(txn.patches)
    // Then the document is the trace's endContent
    expect(doc.length).toBe(Array.from(trace.endContent).length)
    expect(doc.toString()).toBe(trace.endContent)
  })

  it('replays seph-blog1 (non-ASCII text, multi-patch txns, a large paste) to its endContent', async () => {
    const trace = await loadTrace(bundledTracePath('sequential-seph-blog1.json.gz'))
    if (trace.kind !== 'sequential') throw new Error('expected a sequential trace')
    const doc = TextDocument.from(trace.startContent)
    for (const txn of trace.txns) doc.applyAll(txn.patches)
    expect(doc.toString()).toBe(trace.endContent)
  })

  it('counts code points, not UTF-16 units, in a hand-made trace with emoji', () => {
    // Given a trace whose text contains astral-plane emoji (two UTF-16 units each) and a ZWJ
    // sequence (several code points that render as one glyph)
    const txns: TracePatch[][] = [
      [[0, 0, 'I 😀 sync']],
      // insert after the emoji: position 3 in code points (it would be 4 in UTF-16 units)
      [[3, 0, '🎉']],
      // replace the first emoji with a heart
      [[2, 1, '❤️']], // '❤️' is two code points: U+2764 U+FE0F
      // a ZWJ sequence (woman, ZWJ, girl: 3 code points) at the end, then delete the ZWJ + girl
      [[10, 0, '👩‍👧']],
      [[11, 2, '']],
      // multi-patch txn: delete "sync" and type "kit" in its place
      [
        [6, 4, ''],
        [6, 0, 'kit'],
      ],
    ]
    const doc = TextDocument.from('')
    // When the txns are applied in order
    for (const patches of txns) doc.applyAll(patches)
    // Then positions were code points: the result matches the reference splice on code points
    expect(doc.toString()).toBe('I ❤️🎉 kit👩')
    expect(doc.toString()).toBe(naiveApply('', txns.flat()))
    expect(doc.length).toBe(Array.from('I ❤️🎉 kit👩').length)
  })

  it('keeps a lone surrogate as one code point, like Array.from', () => {
    const doc = TextDocument.from('a\uD83Db')
    doc.apply([1, 1, ''])
    expect(doc.toString()).toBe('ab')
    doc.apply([1, 0, '\uDE00'])
    expect(doc.toString()).toBe(naiveApply('ab', [[1, 0, '\uDE00']]))
  })

  it('handles pastes much larger than a chunk and deletions spanning many chunks', () => {
    const big = 'x'.repeat(5000) + '😀'.repeat(3000)
    const doc = TextDocument.from('start-end')
    doc.apply([6, 0, big])
    expect(doc.length).toBe(9 + 8000)
    doc.apply([100, 7000, 'y'])
    const expected = naiveApply('start-end', [
      [6, 0, big],
      [100, 7000, 'y'],
    ])
    expect(doc.toString()).toBe(expected)
    doc.apply([0, doc.length, ''])
    expect(doc.toString()).toBe('')
    expect(doc.length).toBe(0)
    doc.apply([0, 0, 'again'])
    expect(doc.toString()).toBe('again')
  })

  it('matches Array splice on code points for any sequence of in-range patches (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', 'é', '😀', '👩‍👧', '\n', '漢')
    const text = fc.array(alphabet, { maxLength: 40 }).map((parts) => parts.join(''))
    // Each step: fractions of the current length so every patch is in range; sometimes a large
    // paste so documents grow past the chunk size and get split.
    const step = fc.record({
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      del: fc.double({ min: 0, max: 1, noNaN: true }),
      inserted: fc.oneof(
        { weight: 5, arbitrary: text },
        { weight: 1, arbitrary: text.map((t) => t.repeat(60)) },
      ),
    })
    fc.assert(
      fc.property(text, fc.array(step, { maxLength: 60 }), (start, steps) => {
        const doc = TextDocument.from(start)
        const reference = Array.from(start)
        for (const { at, del, inserted } of steps) {
          const pos = Math.floor(at * reference.length)
          const numDeleted = Math.floor(del * (reference.length - pos))
          doc.apply([pos, numDeleted, inserted])
          reference.splice(pos, numDeleted, ...Array.from(inserted))
          expect(doc.length).toBe(reference.length)
        }
        expect(doc.toString()).toBe(reference.join(''))
      }),
      { numRuns: 300 },
    )
  })

  it('rejects a patch past the end of the document and leaves the document unchanged', () => {
    // Given a document of 3 code points
    const doc = TextDocument.from('a😀b')
    // When a patch deletes past the end, inserts past the end, or has a bad number
    const bad: TracePatch[] = [
      [2, 2, ''],
      [4, 0, 'x'],
      [-1, 0, 'x'],
      [0, 1.5, ''],
    ]
    for (const patch of bad) {
      // Then it is rejected with invalid-argument and a message that says what to do
      let caught: unknown
      try {
        doc.apply(patch)
      } catch (error) {
        caught = error
      }
      expect(isSyncKitError(caught, 'invalid-argument')).toBe(true)
      expect((caught as Error).message).toMatch(
        /^\[sync-kit\] \[trace-demo\] patch .* does not fit a document of 3 code points; apply patches in trace order/,
      )
      expect(doc.toString()).toBe('a😀b')
    }
  })
})
