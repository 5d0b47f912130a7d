import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { Event, PushResult } from '../../types/index.js'
import type { RequestLayer } from './http-request.js'
import { ROUTES } from './protocol.js'
import type { RetryBudget } from './retry.js'
import { pushResponseSchema } from './schemas.js'
import type { PushResponseBody } from './schemas.js'

/** What a push needs from the transport. */
export interface PushConfig {
  readonly request: RequestLayer['request']
  /** Bodies larger than this many bytes are sent gzip-compressed. */
  readonly gzipThresholdBytes: number
}

/**
 * Pushes validated events as one call. When the server refuses them as too large (413: over its
 * body or batch limit) and there are several, pushes each half instead, recursively, so a batch
 * that does not fit is not refused forever. Push is idempotent by id, so a part stored before a
 * later one fails is a plain duplicate when the caller retries. Parts after the first are
 * conditioned on the epoch the first was stored in (unless the caller named one), so a server
 * reset between parts fails the push with `epoch-mismatch` instead of splitting it across logs.
 *
 * Splitting is not a retry layer: a 413 is never retried as is, and every part draws on the one
 * retry budget of the call, so the push retries `retry.retries` times at most however it is split.
 * @param config - the request layer and the gzip threshold.
 * @param events - the validated events.
 * @param ifEpoch - the caller's `ifEpoch`, if any.
 * @param signal - the caller's signal.
 * @returns the counts and the epoch the events were stored in.
 * @throws SyncKitError `payload-too-large` for a single event over the server's limit, and
 * whatever the request layer throws.
 */
export async function pushInParts(
  config: PushConfig,
  events: readonly Event[],
  ifEpoch: string | undefined,
  signal: AbortSignal | undefined,
): Promise<PushResult & { readonly epoch: string }> {
  return pushPart(config, events, ifEpoch, signal, { used: 0 })
}

async function pushPart(
  config: PushConfig,
  events: readonly Event[],
  ifEpoch: string | undefined,
  signal: AbortSignal | undefined,
  budget: RetryBudget,
): Promise<PushResult & { readonly epoch: string }> {
  let result: PushResponseBody
  try {
    result = await config.request({
      what: 'push',
      method: 'POST',
      path: ROUTES.events,
      body: await encodePush(events, ifEpoch, config.gzipThresholdBytes),
      schema: pushResponseSchema,
      signal,
      budget,
    })
  } catch (error) {
    if (!isSyncKitError(error, 'payload-too-large') || events.length < 2) throw error
    const middle = Math.ceil(events.length / 2)
    const first = await pushPart(config, events.slice(0, middle), ifEpoch, signal, budget)
    const rest = events.slice(middle)
    const second = await pushPart(config, rest, ifEpoch ?? first.epoch, signal, budget)
    return {
      stored: first.stored + second.stored,
      duplicates: first.duplicates + second.duplicates,
      epoch: second.epoch,
    }
  }
  return { stored: result.stored, duplicates: result.duplicates, epoch: result.epoch }
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
  const compressed = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))
  return { bytes: new Uint8Array(await new Response(compressed).arrayBuffer()), gzip: true }
}
