import { SyncKitError } from '../errors/sync-kit-error.js'
import { describe } from './json-value.js'
import type { Event, Filter } from '../types/index.js'

/**
 * The event type of a delete: an event of this type marks its aggregate as deleted. Projections
 * and the built-in resolvers recognise it; the log keeps it like any other event, and a `type`
 * filter always matches it too (see {@link Filter}), so deletes reach every replica that holds
 * the aggregate, whatever types it syncs.
 *
 * @example
 * ```ts
 * import { TOMBSTONE_EVENT_TYPE } from 'sync-kit'
 *
 * const deletes = await store.load(null, { filters: [{ key: 'type', value: TOMBSTONE_EVENT_TYPE }] })
 * ```
 */
export const TOMBSTONE_EVENT_TYPE = 'sync-kit:tombstone'

/** The filter keys every sync-kit store and transport supports. */
export const STANDARD_FILTER_KEYS: readonly ['type', 'tenant', 'aggregate_id'] = [
  'type',
  'tenant',
  'aggregate_id',
]

/**
 * Filters grouped by key, each group's values deduplicated in first-seen order. A group that is
 * absent (or `undefined`) places no constraint; a present group matches when any of its values
 * matches (OR), and every present group must match (AND). Stores use it to pick an index or build
 * a query.
 */
export interface FilterGroups {
  /** Accepted event types (`type` filters). */
  readonly type?: readonly string[] | undefined
  /** Accepted tenants (`tenant` filters, matched against `metadata.tenant`). */
  readonly tenant?: readonly string[] | undefined
  /** Accepted aggregate ids (`aggregate_id` filters). */
  readonly aggregateId?: readonly string[] | undefined
}

/**
 * Checks filters and groups them by key.
 *
 * @param filters - the caller's filters; `undefined` or `[]` mean "no filter".
 * @param component - names the caller in error messages, e.g. `memory` or `sqlite`.
 * @returns the groups, or `undefined` when there is nothing to filter on.
 * @throws SyncKitError `invalid-argument` when `filters` is not an array of `{ key, value }`
 * objects with string keys and values; `unsupported-filter` for a key other than `type`,
 * `tenant` and `aggregate_id`.
 * @example
 * ```ts
 * import { groupFilters } from 'sync-kit/adapter'
 *
 * groupFilters([{ key: 'type', value: 'A' }, { key: 'type', value: 'B' }], 'sqlite')
 * // { type: ['A', 'B'] }
 * ```
 */
export function groupFilters(
  filters: readonly Filter[] | undefined,
  component: string,
): FilterGroups | undefined {
  if (filters === undefined) return undefined
  if (!Array.isArray(filters)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] filters must be an array of { key, value } objects, got ${describe(filters)}`,
      { argument: 'filters' },
    )
  }
  if (filters.length === 0) return undefined
  const groups: { type?: string[]; tenant?: string[]; aggregateId?: string[] } = {}
  for (let i = 0; i < filters.length; i++) {
    const filter: unknown = filters[i]
    if (typeof filter !== 'object' || filter === null) {
      throw malformed(component, i, `is ${describe(filter)}`)
    }
    const { key, value } = filter as { key?: unknown; value?: unknown }
    if (typeof key !== 'string') throw malformed(component, i, `has a key that is ${describe(key)}`)
    if (typeof value !== 'string') {
      throw malformed(component, i, `(key "${key}") has a value that is ${describe(value)}`)
    }
    const group =
      key === 'aggregate_id' ? 'aggregateId' : key === 'type' || key === 'tenant' ? key : undefined
    if (group === undefined) {
      throw new SyncKitError(
        'unsupported-filter',
        `[sync-kit] [${component}] filter key "${key.slice(0, 64)}" is not supported; use ${STANDARD_FILTER_KEYS.join(', ')}`,
        { key },
      )
    }
    const values = (groups[group] ??= [])
    if (!values.includes(value)) values.push(value)
  }
  return groups
}

/**
 * The groups a store must match for the caller's filters: a `type` group also accepts
 * {@link TOMBSTONE_EVENT_TYPE}, so that a replica syncing some types still receives the deletes
 * of the aggregates it holds (the delete rule of {@link Filter}); `tenant` and `aggregate_id`
 * groups apply to tombstones as to any event. Every filter compiler applies it once: the
 * predicate of {@link compileFilterGroups}, and each store's query builder on the groups it is
 * given.
 *
 * @param groups - from {@link groupFilters}, or `undefined` for "no filter".
 * @returns the same groups, with the tombstone type added to a `type` group that lacks it.
 * @example
 * ```ts
 * import { groupFilters, includeTombstones } from 'sync-kit/adapter'
 *
 * includeTombstones(groupFilters([{ key: 'type', value: 'TodoAdded' }], 'my-store'))
 * // { type: ['TodoAdded', 'sync-kit:tombstone'] }
 * ```
 */
export function includeTombstones(groups: FilterGroups | undefined): FilterGroups | undefined {
  const types = groups?.type
  if (types === undefined || types.includes(TOMBSTONE_EVENT_TYPE)) return groups
  return { ...groups, type: [...types, TOMBSTONE_EVENT_TYPE] }
}

/**
 * Compiles filters into a predicate on events: same key OR-ed, different keys AND-ed (see
 * {@link Filter}). The `tenant` key matches `metadata.tenant`; an event without a tenant never
 * matches a `tenant` filter; a `type` filter also matches tombstones ({@link includeTombstones}).
 *
 * @param filters - the caller's filters; `undefined` or `[]` give a predicate that accepts
 * every event.
 * @param component - names the caller in error messages, e.g. `memory` or `sqlite`.
 * @returns the predicate.
 * @throws SyncKitError `invalid-argument` for malformed filters, `unsupported-filter` for an
 * unknown key (see {@link groupFilters}).
 * @example
 * ```ts
 * import { compileFilters } from 'sync-kit/adapter'
 *
 * const match = compileFilters([{ key: 'tenant', value: 't1' }], 'memory')
 * events.filter(match)
 * ```
 */
export function compileFilters(
  filters: readonly Filter[] | undefined,
  component: string,
): (event: Event) => boolean {
  return compileFilterGroups(groupFilters(filters, component))
}

/**
 * Compiles already grouped filters (from {@link groupFilters}) into a predicate on events; a
 * `type` group also matches tombstones ({@link includeTombstones}).
 * @param groups - the groups, or `undefined` for "no filter".
 * @returns the predicate.
 * @example
 * ```ts
 * import { compileFilterGroups, groupFilters } from 'sync-kit/adapter'
 *
 * const match = compileFilterGroups(groupFilters(filters, 'memory'))
 * ```
 */
export function compileFilterGroups(groups: FilterGroups | undefined): (event: Event) => boolean {
  if (groups === undefined) return acceptAll
  const type = matcher(includeTombstones(groups)?.type)
  const tenant = matcher(groups.tenant)
  const aggregateId = matcher(groups.aggregateId)
  return (event) =>
    (type === undefined || type(event.type)) &&
    (aggregateId === undefined || aggregateId(event.aggregateId)) &&
    (tenant === undefined || tenant(event.metadata?.tenant))
}

/**
 * Checks a page size.
 * @param limit - `undefined` (no limit) or a positive safe integer.
 * @param component - names the caller in error messages.
 * @returns the limit, or `undefined` for "no limit".
 * @throws SyncKitError `invalid-argument` for anything else (0, negatives, fractions, `NaN`,
 * `Infinity`, non-numbers).
 * @example
 * ```ts
 * import { validateLimit } from 'sync-kit/adapter'
 *
 * const limit = validateLimit(options?.limit, 'memory') ?? Infinity
 * ```
 */
export function validateLimit(limit: unknown, component: string): number | undefined {
  if (limit === undefined) return undefined
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] limit must be a positive integer, got ${describe(limit)}; leave it out for no limit`,
      { argument: 'limit' },
    )
  }
  return limit
}

function acceptAll(): boolean {
  return true
}

function matcher(values: readonly string[] | undefined): ((v: unknown) => boolean) | undefined {
  if (values === undefined) return undefined
  if (values.length === 1) {
    const only = values[0]
    return (v) => v === only
  }
  const set: ReadonlySet<unknown> = new Set(values)
  return (v) => set.has(v)
}

function malformed(component: string, index: number, problem: string): SyncKitError {
  return new SyncKitError(
    'invalid-argument',
    `[sync-kit] [${component}] filter ${index} ${problem}; each filter must be { key: string, value: string }`,
    { argument: 'filters' },
  )
}
