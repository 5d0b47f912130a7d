/**
 * Joins byte chunks into one array (the chunk itself when there is one).
 * @typeParam TChunk - the chunks' array type (kept when there is one chunk).
 * @param chunks - the chunks, in order.
 * @param total - their summed `byteLength`.
 * @returns the bytes.
 * @example
 * ```ts
 * import { concatBytes } from './bytes.js'
 *
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])], 3) // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes<TChunk extends Uint8Array>(
  chunks: readonly TChunk[],
  total: number,
): TChunk | Uint8Array<ArrayBuffer> {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0]
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}
