/**
 * The pull pass: fetches the remote's events after the pull checkpoint, page by page; starts over
 * from the beginning when the remote's epoch changed (and asks the push pass to re-send); stores
 * each page with its checkpoint (atomically when the store has `storeBatch`, else one event at a
 * time, quarantining the events the store refuses); and takes the page into account — HLC, seen
 * clock, heads — queueing and deciding the conflicts it finds.
 *
 * Seams: `storePage` is where refused events get a durable quarantine (today they are reported as
 * `error` and skipped); the check in {@link pullAll} that the remote moved past the requested
 * version is where regression detection goes.
 *
 * @module
 */
import { signalOptions, throwIfAborted } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Checkpoint, Event, EventWithVersion, StoreResult, Version } from '../types/index.js'
import type { CausalTracker, Head } from './causal-tracker.js'
import type { ConflictQueue } from './conflict-queue.js'
import { type EpochTracker, withEpoch } from './epoch-tracker.js'
import { skipEcho } from './push-pass.js'
import { isRefusal } from './refusal.js'
import type { PullCounts, SyncContext } from './sync-options.js'

/** The stateful parts of a manager (all but the scheduler), which a pull pass updates. */
export interface SyncParts {
  readonly causal: CausalTracker
  readonly conflicts: ConflictQueue
  readonly epochs: EpochTracker
}

/**
 * Pulls everything after the pull checkpoint.
 * @param ctx - the store, transport, checkpoint keys, batch size, filters and node id; refused
 * events are emitted there as `error`.
 * @param parts - the causal state, conflict queue and epoch it updates.
 * @param signal - cancels; stored pages keep their checkpoint.
 * @returns events new to the store, conflicts found and conflicts decided.
 * @throws SyncKitError `aborted`, `protocol` for a remote that does not move forward,
 * `unavailable` when the epoch keeps changing, and transport or store errors.
 */
export async function pullAll(
  ctx: SyncContext,
  parts: SyncParts,
  signal: AbortSignal | undefined,
): Promise<PullCounts> {
  const { epochs } = parts
  const opts = signalOptions(signal)
  const cp = await ctx.store.getCheckpoint(ctx.pullKey, opts)
  let since: Version | null = cp === undefined ? null : ctx.transport.parseVersion(cp.version)
  let checkpointEpoch = cp?.epoch
  // Without a pull checkpoint (nothing pulled yet), the push checkpoint still says which epoch
  // our pushed events went to: a reset since then must be noticed here, or they are never resent.
  const pushedEpoch =
    checkpointEpoch === undefined && ctx.direction !== 'pull'
      ? (await ctx.store.getCheckpoint(ctx.pushKey, opts))?.epoch
      : undefined
  const totals = { pulled: 0, conflicts: 0, resolved: 0 }
  let restarts = 0
  for (;;) {
    throwIfAborted(signal, '[sync-manager] pull')
    const page = await ctx.transport.pull(since, {
      limit: ctx.batchSize,
      ...(ctx.filters ? { filters: ctx.filters } : {}),
      ...opts,
    })
    if (page.epoch !== undefined) {
      epochs.remote = page.epoch
      if (checkpointEpoch !== undefined && checkpointEpoch !== page.epoch) {
        // The remote was wiped or replaced: its cursors restarted. Pull from the beginning (the
        // store dedups what we already hold) and re-send our events.
        epochs.checkRestarts(++restarts, checkpointEpoch, page.epoch)
        epochs.changed(checkpointEpoch, page.epoch)
        checkpointEpoch = page.epoch
        epochs.resetPending = true
        since = null
        continue
      }
      if (
        checkpointEpoch === undefined &&
        pushedEpoch !== undefined &&
        pushedEpoch !== page.epoch
      ) {
        epochs.changed(pushedEpoch, page.epoch)
        epochs.resetPending = true
      }
      checkpointEpoch = page.epoch
    }
    if (page.events.length === 0) break
    const last = page.events[page.events.length - 1] as EventWithVersion
    if (since !== null && last.version.compare(since) <= 0) {
      // A remote that does not move past `since` would be asked for the same page forever.
      throw new SyncKitError(
        'protocol',
        `[sync-manager] the remote answered a pull after version ${since.toString().slice(0, 64)} with events up to ${last.version.toString().slice(0, 64)}, not after it; it must return only events after the requested version`,
        {},
      )
    }
    const counts = await ingest(
      ctx,
      parts,

      page.events,
      withEpoch(last.version.toString(), page.epoch),
      signal,
    )
    totals.pulled += counts.pulled
    totals.conflicts += counts.conflicts
    totals.resolved += counts.resolved
    since = last.version
    if (!page.hasMore) break
  }
  return totals
}

/** Stores one pulled page, advances the pull checkpoint with it, and runs conflict detection. */
async function ingest(
  ctx: SyncContext,
  parts: SyncParts,
  remote: readonly EventWithVersion[],
  checkpoint: Checkpoint,
  signal: AbortSignal | undefined,
): Promise<PullCounts> {
  const { causal, conflicts: queue, epochs } = parts
  const opts = signalOptions(signal)
  const events = remote.map((e) => e.event)
  const { results, atomic } = await storePage(ctx, events, checkpoint, signal)
  let pulled = 0
  let firstNew: number | undefined
  let lastNew: number | undefined
  // Take the whole page into account before resolving anything: it is stored and checkpointed
  // already, so if a resolver fails or the sync is aborted half-way, the clocks and heads must
  // still cover every event of it, or later local edits would not follow events this replica
  // holds (and could lose to them under last-write-wins).
  const found: (readonly [Head, EventWithVersion])[] = []
  for (let i = 0; i < events.length; i++) {
    const result = results[i]
    if (result === undefined) continue
    const event = events[i] as Event
    if (result.duplicate) {
      // Stored by an earlier attempt that failed before taking it into account (e.g. the
      // checkpoint write failed after the events were stored): take it into account now.
      if (!causal.isUnobserved(event)) continue
    } else {
      firstNew ??= i
      lastNew = i
      pulled++
      if (event.metadata?.origin === ctx.nodeId) causal.reportNodeIdReuse(event)
    }
    causal.receiveStamp(event)
    const stored: EventWithVersion = { event, version: result.version }
    for (const head of causal.observe(stored)) found.push([head, stored])
  }
  await causal.persist(signal)
  for (const [head, stored] of found) queue.add(head.ewv, stored)
  const { conflicts, resolved } = await queue.decide(signal)
  // Only an atomic batch is known to occupy consecutive versions: stored one at a time, a local
  // event recorded meanwhile may sit between two pulled events, and must still be pushed.
  if (atomic && firstNew !== undefined && lastNew !== undefined) {
    await skipEcho(
      ctx,
      epochs,

      events[firstNew] as Event,
      (results[lastNew] as StoreResult).version,
      opts,
    )
  }
  return { pulled, conflicts, resolved }
}

/**
 * Stores a pulled page and advances the pull checkpoint.
 * @returns one result per event (`undefined` for a quarantined event), and whether the page
 * was stored as one atomic batch.
 */
async function storePage(
  ctx: SyncContext,
  events: readonly Event[],
  checkpoint: Checkpoint,
  signal: AbortSignal | undefined,
): Promise<{ results: (StoreResult | undefined)[]; atomic: boolean }> {
  const opts = signalOptions(signal)
  if (ctx.store.storeBatch !== undefined) {
    try {
      const results = await ctx.store.storeBatch(events, {
        ...opts,
        checkpoint: { key: ctx.pullKey, value: checkpoint },
      })
      return { results, atomic: true }
    } catch (error) {
      // One bad event must not block the stream forever: fall back to one at a time and
      // quarantine the events the store refuses.
      if (!isRefusal(error)) throw error
    }
  }
  const results: (StoreResult | undefined)[] = []
  for (const event of events) {
    try {
      results.push(await ctx.store.store(event, opts))
    } catch (error) {
      if (!isRefusal(error)) throw error
      ctx.events.emit('error', error)
      results.push(undefined)
    }
  }
  await ctx.store.setCheckpoint(ctx.pullKey, checkpoint, opts)
  return { results, atomic: false }
}
