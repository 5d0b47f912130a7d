/**
 * The push pass: sends the local events after the push checkpoint to the remote, page by page,
 * under the epoch of the checkpoint (`ifEpoch`), and advances the checkpoint after each
 * acknowledged page. It skips the events the remote is known to hold (pulled from it: no echo, see
 * `remote-holds`), hands the events the remote refuses to the refusal list (they are not counted
 * as pushed), and, when the remote's epoch changed, lets the pull pass learn the new log first and
 * then sends everything it lacks from the beginning.
 *
 * @module
 */
import { withFoldCache } from '../causality/causal-context.js'
import { signalOptions, throwIfAborted } from '../errors/abort.js'
import { type SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type {
  Checkpoint,
  Event,
  EventWithVersion,
  PushOptions,
  PushResult,
  Version,
} from '../types/index.js'
import { type EpochTracker, REGRESSED, withEpoch } from './epoch-tracker.js'
import { isRefusal } from './refusal.js'
import type { SyncContext, SyncParts } from './sync-options.js'

/**
 * Pushes everything after the push checkpoint (up to `until`) that the remote does not hold.
 * @param ctx - the store, transport, checkpoint key, batch size and filters.
 * @param parts - the remote's epoch, what it holds, and the refusal list.
 * @param signal - cancels; acknowledged pages keep their checkpoint.
 * @param until - push nothing stored after this local version.
 * @param pullFirst - when the remote's epoch changed, stop and leave the re-send to after the
 * pull (`epochs.resetPending`), so events the new log already holds are not sent again.
 * @returns the number of events sent and accepted (refused ones are not counted).
 * @throws SyncKitError `aborted`, `unavailable` when the epoch keeps changing, and transport or
 * store errors.
 */
export async function pushAll(
  ctx: SyncContext,
  parts: SyncParts,
  signal: AbortSignal | undefined,
  until?: Version,
  pullFirst = false,
): Promise<number> {
  const { epochs, holds, refusals } = parts
  const opts = signalOptions(signal)
  const loadOptions = {
    limit: ctx.batchSize,
    ...(ctx.filters ? { filters: ctx.filters } : {}),
    ...opts,
  }
  const cp = await ctx.store.getCheckpoint(ctx.pushKey, opts)
  let since: Version | null = pushStart(ctx, epochs, cp)
  // Starting over, the checkpoint's epoch means nothing: push under the remote's current one.
  let checkpointEpoch = since === null ? undefined : cp?.epoch
  await holds.load(signal)
  let pushed = 0
  let restarts = 0
  for (;;) {
    throwIfAborted(signal, '[sync-manager] push')
    const loaded = await ctx.store.load(since, loadOptions)
    const page = until === undefined ? loaded : loaded.filter((e) => e.version.compare(until) <= 0)
    if (page.length === 0) break
    // Conditioned on the epoch of our checkpoint: if the remote was wiped or replaced meanwhile,
    // it stores nothing, and we re-send our history from the beginning first, so its new log
    // never holds an effect before its cause. Without a checkpoint, the epoch we last pulled in
    // (the holds record's, whose skips this push relies on).
    const ifEpoch = checkpointEpoch ?? epochs.remote ?? holds.epoch
    // The store's own copies: their parsed contexts are not kept beside them.
    const send = withFoldCache(() => page.filter((e) => !holds.has(e.event, ifEpoch))).map(
      (e) => e.event,
    )
    let result: PushResult & { sent: number }
    try {
      result = await pushPage(ctx, parts, send, ifEpoch === undefined ? opts : { ...opts, ifEpoch })
    } catch (error) {
      if (!isSyncKitError(error, 'epoch-mismatch')) throw error
      const current = error.details.actual
      epochs.remote = current
      epochs.checkRestarts(++restarts, ifEpoch ?? '', current)
      epochs.changed(ifEpoch ?? '', current)
      if (pullFirst) {
        epochs.resetPending = true
        return pushed
      }
      checkpointEpoch = current
      since = null
      continue
    }
    if (result.epoch !== undefined) {
      epochs.remote = result.epoch
      if (checkpointEpoch !== undefined && checkpointEpoch !== result.epoch) {
        // The remote was wiped or replaced since our checkpoint: it may lack anything we sent
        // before. Send everything again from the beginning (the remote dedups by id).
        epochs.changed(checkpointEpoch, result.epoch)
        if (since !== null) epochs.checkRestarts(++restarts, checkpointEpoch, result.epoch)
        checkpointEpoch = result.epoch
        if (since !== null) {
          since = null
          continue
        }
      }
      checkpointEpoch = result.epoch
    }
    if (result.stored > 0) epochs.stored = true
    const last = page[page.length - 1] as EventWithVersion
    // Tagged with the epoch the events were sent — or skipped as held — in: when it turns out to be
    // stale, everything after the start is sent again.
    const value: Checkpoint = withEpoch(last.version.toString(), checkpointEpoch ?? ifEpoch)
    await ctx.store.setCheckpoint(ctx.pushKey, value, opts)
    pushed += result.sent
    since = last.version
    if (loaded.length < ctx.batchSize || page.length < loaded.length) break
  }
  const ifEpoch = checkpointEpoch ?? epochs.remote ?? holds.epoch
  const options = ifEpoch === undefined ? opts : { ...opts, ifEpoch }
  pushed +=
    (await refusals.resend?.(
      signal,
      async (events) => (await pushPage(ctx, parts, events, options)).sent,
    )) ?? 0
  return pushed
}

/**
 * Pushes one page. When the remote refuses it for a bad event (an id it holds with other content,
 * an event it finds invalid, over its size limit or stamped beyond its drift bound), each half is
 * pushed on its own, down to the single events it refuses, so the rest still arrive (in order,
 * all in the epoch the first part went to); the refused ones go to the refusal list.
 * @returns the last answer, and how many events went through.
 */
async function pushPage(
  ctx: SyncContext,
  { refusals }: SyncParts,
  events: readonly Event[],
  opts: PushOptions,
): Promise<PushResult & { sent: number }> {
  const refused: [Event, SyncKitError][] = []
  // The parts after the first go to the epoch the first went to: a reset between two parts must
  // not leave the page split across two logs.
  let ifEpoch = opts.ifEpoch
  const send = async (part: readonly Event[]): Promise<PushResult | undefined> => {
    try {
      const answer = await ctx.transport.push(
        part,
        ifEpoch === undefined ? opts : { ...opts, ifEpoch },
      )
      ifEpoch ??= answer.epoch
      return answer
    } catch (error) {
      if (!isRefusal(error)) throw error
      if (part.length === 1) return void refused.push([part[0] as Event, error])
      const half = Math.ceil(part.length / 2)
      const first = await send(part.slice(0, half))
      return (await send(part.slice(half))) ?? first
    }
  }
  const result = (events.length > 0 ? await send(events) : undefined) ?? {
    stored: 0,
    duplicates: 0,
  }
  // Saved before the checkpoint moves past them.
  await refusals.settle('remote', events, refused, opts.signal)
  return { ...result, sent: events.length - refused.length }
}

/** Where pushing starts: after the checkpoint, or from the beginning when there is none. */
function pushStart(
  ctx: SyncContext,
  epochs: EpochTracker,
  cp: Checkpoint | undefined,
): Version | null {
  if (cp === undefined || cp.epoch === REGRESSED) return null
  // A checkpoint taken against another epoch of the remote is meaningless: start over.
  const remote = epochs.remote
  if (remote !== undefined && cp.epoch !== undefined && cp.epoch !== remote) return null
  return ctx.store.parseVersion(cp.version)
}
