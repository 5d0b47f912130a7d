import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Filter } from '../../types/index.js'
import { SQLITE_PREFIX } from './sqlite-errors.js'

/** Filter key → column of the `events` table, in the order the WHERE clause lists them. */
const FILTER_COLUMNS = new Map<string, string>([
  ['type', 'type'],
  ['tenant', 'tenant'],
  ['aggregate_id', 'aggregate_id'],
])

/** The filter keys the SQLite store runs in SQL. */
export const SQLITE_FILTER_KEYS: readonly string[] = [...FILTER_COLUMNS.keys()]

/** A load query: its SQL (a cache key too) and the values for its `?` placeholders. */
export interface LoadQuery {
  /** The SQL text; equal for every call of the same shape, so it keys the statement cache. */
  readonly sql: string
  /** Values in placeholder order. */
  readonly params: readonly unknown[]
}

const COLUMNS = 'seq, id, type, aggregate_id, data, metadata'

/**
 * Builds the SQL for `load`/`loadByAggregate`: same key → `IN` (OR), different keys → `AND`,
 * with the values deduplicated. Every condition compares a column with `=`/`IN` and `seq` with
 * `>`, so SQLite can walk one of the `(column, seq)` indexes in `seq` order.
 * @param aggregateId - the aggregate for `loadByAggregate`, or `undefined` for `load`.
 * @param since - only events with a larger `seq`.
 * @param filters - validated filters whose keys are in {@link SQLITE_FILTER_KEYS}.
 * @param limit - the page size, or `undefined` for no limit.
 * @returns the SQL and its parameters.
 * @throws SyncKitError `unsupported-filter` for a key without a column, so that a filter is
 * never dropped silently.
 */
export function buildLoadQuery(
  aggregateId: string | undefined,
  since: bigint,
  filters: readonly Filter[] | undefined,
  limit: number | undefined,
): LoadQuery {
  const where: string[] = []
  const params: unknown[] = []
  // Without ANALYZE statistics SQLite may pick the type or tenant index for loadByAggregate;
  // one aggregate's events are nearly always the smallest range, so name its index.
  const from = aggregateId === undefined ? 'events' : 'events INDEXED BY events_aggregate_id_seq'
  if (aggregateId !== undefined) {
    where.push('aggregate_id = ?')
    params.push(aggregateId)
  }
  where.push('seq > ?')
  params.push(since)
  if (filters !== undefined && filters.length > 0) {
    const groups = new Map<string, Set<string>>()
    for (const { key, value } of filters) {
      let values = groups.get(key)
      if (values === undefined) groups.set(key, (values = new Set()))
      values.add(value)
    }
    for (const key of groups.keys()) {
      if (!FILTER_COLUMNS.has(key)) {
        throw new SyncKitError(
          'unsupported-filter',
          `${SQLITE_PREFIX} filter key "${key}" is not supported; use ${SQLITE_FILTER_KEYS.join(', ')}`,
          { key },
        )
      }
    }
    for (const [key, column] of FILTER_COLUMNS) {
      const values = groups.get(key)
      if (values === undefined) continue
      where.push(
        values.size === 1
          ? `${column} = ?`
          : `${column} IN (${Array.from(values, () => '?').join(', ')})`,
      )
      params.push(...values)
    }
  }
  // LIMIT -1 means no limit, so paged and unpaged loads share one statement.
  params.push(limit ?? -1)
  return {
    sql: `SELECT ${COLUMNS} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`,
    params,
  }
}
