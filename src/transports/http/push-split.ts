import { pushInParts as splitPush } from '../../core/push-split.js'
import type { SplitPushResult } from '../../core/push-split.js'
import type { Event } from '../../types/index.js'
import { concatBytes } from './bytes.js'
import type { RequestLayer } from './http-request.js'
import { ROUTES } from './protocol.js'
import type { RetryBudget } from './retry.js'
import { pushResponseSchema } from './schemas.js'

/** What a push needs from the transport. */
export interface PushConfig {
  readonly request: RequestLayer['request']
  /** Bodies larger than this many bytes are sent gzip-compressed. */
  readonly gzipThresholdBytes: number
}

/**
 * Pushes validated events as one call over HTTP: the shared split of `core/push-split.ts`, on a
 * 413 (over the server's body or batch limit). Every part draws on the one retry budget of the
 * call, so the push retries `retry.retries` times at most however it is split.
 * @param config - the request layer and the gzip threshold.
 * @param events - the validated events.
 * @param ifEpoch - the caller's `ifEpoch`, if any.
 * @param signal - the caller's signal.
 * @returns the counts and the epoch the events were stored in.
 * @throws SyncKitError `payload-too-large` for a single event over the server's limit, and
 * whatever the request layer throws.
 */
export function pushInParts(
  config: PushConfig,
  events: readonly Event[],
  ifEpoch: string | undefined,
  signal: AbortSignal | undefined,
): Promise<SplitPushResult> {
  const budget: RetryBudget = { used: 0 }
  return splitPush(events, ifEpoch, async (part, partEpoch) => {
    const result = await config.request({
      what: 'push',
      method: 'POST',
      path: ROUTES.events,
      body: await encodePush(part, partEpoch, config.gzipThresholdBytes),
      schema: pushResponseSchema,
      signal,
      budget,
    })
    return { stored: result.stored, duplicates: result.duplicates, epoch: result.epoch }
  })
}

async function encodePush(
  events: readonly Event[],
  ifEpoch: string | undefined,
  gzipThresholdBytes: number,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; gzip: boolean }> {
  const envelope = ifEpoch === undefined ? { events } : { events, ifEpoch }
  const bytes = new TextEncoder().encode(JSON.stringify(envelope))
  if (bytes.byteLength <= gzipThresholdBytes || typeof CompressionStream === 'undefined') {
    return { bytes, gzip: false }
  }
  return { bytes: await gzip(bytes), gzip: true }
}

/**
 * Compresses `bytes` with `CompressionStream`, written and read directly: through a `Blob` stream
 * and `Response.arrayBuffer()` the same compression cost 40% more.
 */
async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new CompressionStream('gzip')
  const writer = stream.writable.getWriter()
  // Their failures reach the reader below.
  writer.write(bytes).catch(() => undefined)
  writer.close().catch(() => undefined)
  const reader = stream.readable.getReader()
  const parts: Uint8Array<ArrayBuffer>[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    parts.push(value)
    total += value.byteLength
  }
  return concatBytes(parts, total)
}
