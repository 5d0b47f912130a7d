import { isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event, PushResult } from '../types/index.js'

/** A push result that names the epoch the events were stored in. */
export type SplitPushResult = PushResult & { readonly epoch: string }

/**
 * Sends one part of a push: the events and the `ifEpoch` the part is conditioned on.
 * @param events - the part's events.
 * @param ifEpoch - the caller's `ifEpoch`, or for every part after the first the epoch the first
 * was stored in.
 * @returns the counts and the epoch.
 */
export type SendPushPart = (
  events: readonly Event[],
  ifEpoch: string | undefined,
) => Promise<SplitPushResult>

/**
 * Pushes validated events as one call, split in halves (recursively) when they do not fit: when
 * `fits` says a part is over the remote's known limits, or when the remote refuses a part with
 * `payload-too-large` (over its body or batch limit). So a batch that does not fit is not refused
 * forever: the one split mechanism of every client transport (the HTTP client splits on 413, the
 * WebSocket client before sending, to fit the limits its server announced).
 *
 * Push is idempotent by id, so a part stored before a later one fails is a plain duplicate when
 * the caller retries. Parts after the first are conditioned on the epoch the first was stored in
 * (unless the caller named one), so a remote reset between parts fails the push with
 * `epoch-mismatch` instead of splitting it across logs. Splitting is not a retry layer: a refused
 * part is never sent again as is; `send` draws every part's retries from the one budget of the
 * call.
 * @param events - the validated events.
 * @param ifEpoch - the caller's `ifEpoch`, if any.
 * @param send - sends one part.
 * @param fits - whether a part may be sent as it is. @defaultValue every part fits
 * @returns the summed counts and the epoch the events were stored in.
 * @throws SyncKitError whatever `send` throws: `payload-too-large` for a single event over the
 * limit.
 * @example
 * ```ts
 * import { pushInParts } from 'sync-kit/adapter'
 *
 * const result = await pushInParts(events, undefined, (part, ifEpoch) => sendPush(part, ifEpoch))
 * ```
 */
export async function pushInParts(
  events: readonly Event[],
  ifEpoch: string | undefined,
  send: SendPushPart,
  fits: (events: readonly Event[], ifEpoch: string | undefined) => boolean = () => true,
): Promise<SplitPushResult> {
  if (events.length >= 2 && !fits(events, ifEpoch)) return pushHalves(events, ifEpoch, send, fits)
  try {
    return await send(events, ifEpoch)
  } catch (error) {
    if (!isSyncKitError(error, 'payload-too-large') || events.length < 2) throw error
    return pushHalves(events, ifEpoch, send, fits)
  }
}

async function pushHalves(
  events: readonly Event[],
  ifEpoch: string | undefined,
  send: SendPushPart,
  fits: (events: readonly Event[], ifEpoch: string | undefined) => boolean,
): Promise<SplitPushResult> {
  const middle = Math.ceil(events.length / 2)
  const first = await pushInParts(events.slice(0, middle), ifEpoch, send, fits)
  const second = await pushInParts(events.slice(middle), ifEpoch ?? first.epoch, send, fits)
  return {
    stored: first.stored + second.stored,
    duplicates: first.duplicates + second.duplicates,
    epoch: second.epoch,
  }
}
