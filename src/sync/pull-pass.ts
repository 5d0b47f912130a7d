/**
 * The pull pass: first retries the pulled events the local store refused before (the refusal
 * list); then fetches the remote's events after the pull checkpoint, page by page, following
 * `hasMore` past empty pages (a bounded number of them); starts over from the beginning when the
 * remote's epoch changed or the remote regressed (and asks the push pass to re-send); stores each
 * page with its checkpoint (atomically when the store has `storeBatch`, else one event at a time,
 * handing the events the store refuses to the refusal list before the checkpoint moves); records
 * what the remote holds; and takes the page into account — HLC, seen clock, heads — queueing and
 * deciding the conflicts it finds.
 *
 * @module
 */
import { signalOptions, throwIfAborted } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Checkpoint, Event, EventWithVersion, StoreResult, Version } from '../types/index.js'
import type { Head } from './causal-tracker.js'
import { REGRESSED, withEpoch } from './epoch-tracker.js'
import { isRefusal } from './refusal.js'
import type { PullCounts, SyncContext, SyncParts } from './sync-options.js'

/**
 * Consecutive empty pages with `hasMore: true` a pull follows before it gives up with `protocol`:
 * a remote may end a page early (e.g. filtering after paging), but not forever.
 */
export const MAX_EMPTY_PAGES = 8

/**
 * Pulls everything after the pull checkpoint.
 * @param ctx - the store, transport, checkpoint keys, batch size, filters and node id.
 * @param parts - the causal state, conflict queue, epoch, holds record and refusal list it updates.
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
  const totals = { pulled: 0, conflicts: 0, resolved: 0 }
  // Events the local store refused come first, until they are stored or the app drops them.
  const refused = (await parts.refusals.list(signal)).filter((r) => r.by === 'local')
  const retry = refused.map((r) => r.event)
  if (retry.length > 0) await ingest(ctx, parts, totals, retry, signal)
  const cp = await ctx.store.getCheckpoint(ctx.pullKey, opts)
  const restart = cp?.epoch === REGRESSED
  let since: Version | null =
    cp === undefined || restart ? null : ctx.transport.parseVersion(cp.version)
  let checkpointEpoch = restart ? undefined : cp?.epoch
  if (restart) epochs.resetPending = true
  // Without a pull checkpoint (nothing pulled yet), the push checkpoint still says which epoch
  // our pushed events went to: a reset since then must be noticed here, or they are never resent.
  const pushedEpoch =
    checkpointEpoch === undefined && ctx.direction !== 'pull'
      ? (await ctx.store.getCheckpoint(ctx.pushKey, opts))?.epoch
      : undefined
  let restarts = 0
  let empty = 0
  let seen = false
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
    if (page.events.length === 0) {
      if (!page.hasMore) {
        // Our push stored events new to the remote, yet nothing follows our cursor: they were
        // stored at or below it, so the remote's log regressed.
        if (!epochs.stored || seen || since === null) break
        epochs.stored = false
        await regressed(ctx, parts, signal)
        epochs.resetPending = true
        since = null
        continue
      }
      if (++empty > MAX_EMPTY_PAGES) {
        throw new SyncKitError(
          'protocol',
          `[sync-manager] the remote answered ${empty} empty pages in a row with hasMore: true; a page must hold events or end`,
          {},
        )
      }
      continue
    }
    empty = 0
    seen = true
    const last = page.events[page.events.length - 1] as EventWithVersion
    if (since !== null && last.version.compare(since) <= 0) {
      // A remote that does not move past `since` would be asked for the same page forever.
      throw new SyncKitError(
        'protocol',
        `[sync-manager] a pull after version ${since.toString().slice(0, 64)} returned events up to ${last.version.toString().slice(0, 64)}; a remote must return only later events`,
        {},
      )
    }
    const events = page.events.map((e) => e.event)
    // Without the refusal list, a refused event ends the pull before it (fetched again next time).
    if (await ingest(ctx, parts, totals, events, signal, remotePage(page.events, page.epoch))) break
    since = last.version
    if (!page.hasMore) break
  }
  return totals
}

/**
 * Asks the remote for its head and compares it with our pull cursor: below it, the remote
 * regressed. (Nothing to compare, and no call, before the first pull.)
 * @param ctx - the store, the transport and the checkpoint keys.
 * @param parts - the epoch and the holds record.
 * @param signal - cancels.
 */
export async function checkHead(
  ctx: SyncContext,
  parts: SyncParts,
  signal: AbortSignal | undefined,
): Promise<void> {
  const opts = signalOptions(signal)
  const cp = await ctx.store.getCheckpoint(ctx.pullKey, opts)
  if (cp === undefined) return
  const head = await ctx.transport.latestVersion(opts)
  if (head.compare(ctx.transport.parseVersion(cp.version)) < 0) await regressed(ctx, parts, signal)
}

/**
 * Handles a remote that regressed within its epoch (a server restored from a backup, a replaced
 * server that kept the epoch): it lost events we pulled, and maybe events we pushed, so it is
 * treated like a reset. What it is known to hold is forgotten, and both checkpoints are tagged
 * {@link REGRESSED}, so both passes start over from the beginning (also after a restart);
 * `epoch-changed` is emitted with `previous` equal to `current`.
 */
async function regressed(
  ctx: SyncContext,
  parts: SyncParts,
  signal: AbortSignal | undefined,
): Promise<void> {
  const opts = signalOptions(signal)
  const { store, pullKey, pushKey } = ctx
  const cp = await store.getCheckpoint(pullKey, opts)
  if (cp === undefined || cp.epoch === REGRESSED) return
  await parts.holds.reset(signal)
  const push = await store.getCheckpoint(pushKey, opts)
  if (push) await store.setCheckpoint(pushKey, withEpoch(push.version, REGRESSED), opts)
  await store.setCheckpoint(pullKey, withEpoch(cp.version, REGRESSED), opts)
  const epoch = cp.epoch ?? ''
  ctx.events.emit('epoch-changed', { previous: epoch, current: epoch })
}

/** Where ingested events came from in the remote's log: a pulled page or a live batch. */
export interface RemotePage {
  /** The pull checkpoint after the page's event `i`. */
  readonly at: (index: number) => Checkpoint
  /** The remote's epoch of the page. */
  readonly epoch: string | undefined
  /** A live batch: saving the holds record is left to the next pulled page. */
  readonly live: boolean
}

/**
 * Describes events of the remote's log.
 * @param items - the events with their remote versions.
 * @param epoch - the remote's epoch they belong to.
 * @param live - true for a live batch.
 * @returns the page, whose checkpoints are tagged with `epoch`.
 */
export function remotePage(
  items: readonly EventWithVersion[],
  epoch: string | undefined,
  live = false,
): RemotePage {
  return {
    at: (i) => withEpoch((items[i] as EventWithVersion).version.toString(), epoch),
    epoch,
    live,
  }
}

/**
 * Stores pulled events, and for a page of the remote's log advances the pull checkpoint with them
 * and records what the remote holds; runs conflict detection, and adds what it did to `totals`.
 * @returns true when the page was stored only up to an event the store refused (no refusal list).
 */
export async function ingest(
  ctx: SyncContext,
  parts: SyncParts,
  totals: PullCounts,
  events: readonly Event[],
  signal: AbortSignal | undefined,
  page?: RemotePage,
): Promise<boolean> {
  const { causal, conflicts: queue } = parts
  const at = page?.at
  const results = await storePage(ctx, parts, events, at, signal)
  const held: Event[] = []
  // Take the whole page into account before resolving anything: it is stored and checkpointed
  // already, so if a resolver fails or the sync is aborted half-way, the clocks and heads must
  // still cover every event of it, or later local edits would not follow events this replica
  // holds (and could lose to them under last-write-wins).
  const found: (readonly [Head, EventWithVersion])[] = []
  for (let i = 0; i < events.length; i++) {
    const result = results[i]
    if (result === undefined) continue
    const event = events[i] as Event
    // An own event is known to be this very one only when the store already held it.
    if (result.duplicate || event.metadata?.origin !== ctx.nodeId) held.push(event)
    if (result.duplicate) {
      // Stored by an earlier attempt that failed before taking it into account (e.g. the
      // checkpoint write failed after the events were stored): take it into account now.
      if (!causal.isUnobserved(event)) continue
    } else {
      totals.pulled++
      if (event.metadata?.origin === ctx.nodeId) causal.reportNodeIdReuse(event)
    }
    causal.receiveStamp(event)
    const stored: EventWithVersion = { event, version: result.version }
    const head = causal.observe(stored)
    if (head !== undefined) found.push([head, stored])
  }
  await causal.persist(signal)
  if (page) await parts.holds.add(held, page.epoch, signal, !page.live)
  for (const [head, stored] of found) queue.add(head.ewv, stored)
  const { conflicts, resolved } = await queue.decide(signal)
  totals.conflicts += conflicts
  totals.resolved += resolved
  return results.length < events.length
}

/**
 * Stores pulled events and advances the pull checkpoint (when `at` is given, to `at(i)` after the
 * last event `i` it may pass).
 * @returns one result per event (`undefined` for a refused event); without the refusal list, only
 * the results up to the first refused event.
 */
async function storePage(
  ctx: SyncContext,
  { refusals }: SyncParts,
  events: readonly Event[],
  at: ((index: number) => Checkpoint) | undefined,
  signal: AbortSignal | undefined,
): Promise<(StoreResult | undefined)[]> {
  const opts = signalOptions(signal)
  const key = ctx.pullKey
  if (ctx.store.storeBatch !== undefined) {
    try {
      const results = await ctx.store.storeBatch(events, {
        ...opts,
        ...(at ? { checkpoint: { key, value: at(events.length - 1) } } : {}),
      })
      await refusals.settle('local', events, [], signal)
      return results
    } catch (error) {
      // One bad event must not block the stream forever: fall back to one at a time.
      if (!isRefusal(error)) throw error
    }
  }
  const results: (StoreResult | undefined)[] = []
  const refused: [Event, SyncKitError][] = []
  for (const event of events) {
    try {
      results.push(await ctx.store.store(event, opts))
    } catch (error) {
      if (!isRefusal(error)) throw error
      refused.push([event, error])
      // Nothing keeps it without the refusal list: the checkpoint must stay before it.
      if (!refusals.keeps) break
      results.push(undefined)
    }
  }
  // The refused events are kept before the checkpoint moves past them.
  await refusals.settle('local', events, refused, signal)
  if (at && results.length > 0) await ctx.store.setCheckpoint(key, at(results.length - 1), opts)
  return results
}
