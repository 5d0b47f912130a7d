/**
 * The push pass: sends the local events after the push checkpoint to the remote, page by page,
 * under the epoch of the checkpoint (`ifEpoch`), and advances the checkpoint after each
 * acknowledged page; starts over from the beginning when the remote's epoch changed; skips the
 * events a remote refuses one by one; and lets the pull pass move the checkpoint past pulled
 * events (echoes) that need not go back.
 *
 * Seam (no echo): today every stored event after the checkpoint is pushed, pulled ones included,
 * and {@link skipEcho} moves the checkpoint past a pulled batch where it safely can. Pushing only
 * events recorded locally replaces the page {@link pushAll} loads, and with it `skipEcho`.
 *
 * @module
 */
import { signalOptions, throwIfAborted } from '../errors/abort.js'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import type {
  Checkpoint,
  Event,
  EventWithVersion,
  PushOptions,
  PushResult,
  Version,
} from '../types/index.js'
import { type EpochTracker, withEpoch } from './epoch-tracker.js'
import { isRefusal } from './refusal.js'
import type { SyncContext } from './sync-options.js'

/**
 * Pushes everything after the push checkpoint (up to `until`).
 * @param ctx - the store, transport, checkpoint key, batch size and filters; refused events are
 * emitted there as `error`.
 * @param epochs - the remote's epoch.
 * @param signal - cancels; acknowledged pages keep their checkpoint.
 * @param until - push nothing stored after this local version.
 * @returns the number of events sent.
 * @throws SyncKitError `aborted`, `unavailable` when the epoch keeps changing, and transport or
 * store errors.
 */
export async function pushAll(
  ctx: SyncContext,
  epochs: EpochTracker,
  signal: AbortSignal | undefined,
  until?: Version,
): Promise<number> {
  const opts = signalOptions(signal)
  const loadOptions = {
    limit: ctx.batchSize,
    ...(ctx.filters ? { filters: ctx.filters } : {}),
    ...opts,
  }
  const cp = await ctx.store.getCheckpoint(ctx.pushKey, opts)
  let since: Version | null = pushStart(ctx, epochs, cp)
  let checkpointEpoch = cp?.epoch
  let pushed = 0
  let restarts = 0
  for (;;) {
    throwIfAborted(signal, '[sync-manager] push')
    const loaded = await ctx.store.load(since, loadOptions)
    const page = until === undefined ? loaded : loaded.filter((e) => e.version.compare(until) <= 0)
    if (page.length === 0) break
    // Conditioned on the epoch of our checkpoint: if the remote was wiped or replaced meanwhile,
    // it stores nothing, and we re-send our history from the beginning first, so its new log
    // never holds an effect before its cause.
    const ifEpoch = checkpointEpoch ?? epochs.remote
    let result: PushResult
    try {
      result = await pushPage(ctx, page, ifEpoch === undefined ? opts : { ...opts, ifEpoch })
    } catch (error) {
      if (!isSyncKitError(error, 'epoch-mismatch')) throw error
      const current = error.details.actual
      epochs.remote = current
      epochs.checkRestarts(++restarts, ifEpoch ?? '', current)
      epochs.changed(ifEpoch ?? '', current)
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
    const last = page[page.length - 1] as EventWithVersion
    const value: Checkpoint = withEpoch(last.version.toString(), result.epoch ?? epochs.remote)
    await ctx.store.setCheckpoint(ctx.pushKey, value, opts)
    pushed += page.length
    since = last.version
    if (loaded.length < ctx.batchSize || page.length < loaded.length) break
  }
  return pushed
}

/**
 * Events pulled from the remote need not be pushed back to it. When every local event before the
 * pulled batch was already pushed, move the push checkpoint past the batch. The check is made
 * after storing, on versions, so a local event recorded meanwhile is never skipped.
 * @param ctx - the manager's context.
 * @param epochs - the remote's epoch.
 * @param firstNew - the first event of the batch that was new to the store.
 * @param lastNewVersion - the local version of the last one.
 * @param opts - cancellation.
 */
export async function skipEcho(
  ctx: SyncContext,
  epochs: EpochTracker,
  firstNew: Event,
  lastNewVersion: Version,
  opts: { signal?: AbortSignal },
): Promise<void> {
  if (ctx.direction !== 'both' || ctx.filters !== undefined || ctx.store.storeBatch === undefined)
    return
  const cp = await ctx.store.getCheckpoint(ctx.pushKey, opts)
  const since = pushStart(ctx, epochs, cp)
  const next = await ctx.store.load(since, { limit: 1, ...opts })
  if (next[0]?.event.id !== firstNew.id) return
  await ctx.store.setCheckpoint(
    ctx.pushKey,
    withEpoch(lastNewVersion.toString(), cp?.epoch ?? epochs.remote),
    opts,
  )
}

/**
 * Pushes one page. When the remote refuses the page for one bad event (an id it holds with other
 * content, an event it finds invalid, or one over its size limit), the events are sent one at a
 * time so the rest still arrive; the refused ones are reported as `error` and skipped.
 */
async function pushPage(
  ctx: SyncContext,
  page: readonly EventWithVersion[],
  opts: PushOptions,
): Promise<PushResult> {
  try {
    return await ctx.transport.push(
      page.map((e) => e.event),
      opts,
    )
  } catch (error) {
    if (!isRefusal(error)) throw error
    if (page.length === 1) {
      ctx.events.emit('error', error)
      return { stored: 0, duplicates: 0 }
    }
  }
  let stored = 0
  let duplicates = 0
  let epoch: string | undefined
  for (const { event } of page) {
    try {
      const one = await ctx.transport.push([event], opts)
      stored += one.stored
      duplicates += one.duplicates
      epoch = one.epoch ?? epoch
    } catch (error) {
      if (!isRefusal(error)) throw error
      ctx.events.emit('error', error)
    }
  }
  return epoch === undefined ? { stored, duplicates } : { stored, duplicates, epoch }
}

/** Where pushing starts: after the checkpoint, or from the beginning when there is none. */
function pushStart(
  ctx: SyncContext,
  epochs: EpochTracker,
  cp: Checkpoint | undefined,
): Version | null {
  if (cp === undefined) return null
  // A checkpoint taken against another epoch of the remote is meaningless: start over.
  const remote = epochs.remote
  if (remote !== undefined && cp.epoch !== undefined && cp.epoch !== remote) return null
  return ctx.store.parseVersion(cp.version)
}
