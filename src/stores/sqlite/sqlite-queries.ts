import type { FilterGroups } from '../../core/filters.js'

/** A load query: its SQL (a cache key too) and the values for its `?` placeholders. */
export interface LoadQuery {
  /** The SQL text; equal for every call of the same shape, so it keys the statement cache. */
  readonly sql: string
  /** Values in placeholder order. */
  readonly params: readonly unknown[]
}

const COLUMNS = 'seq, id, type, aggregate_id, data, metadata'

/** Filter group → column of the `events` table, in the order the WHERE clause lists them. */
const GROUP_COLUMNS: readonly (readonly [keyof FilterGroups, string])[] = [
  ['type', 'type'],
  ['tenant', 'tenant'],
  ['aggregateId', 'aggregate_id'],
]

/**
 * Builds the SQL for `load`/`loadByAggregate` from filters grouped by `groupFilters`: one key's
 * values → `=`/`IN` (OR), different keys → `AND`. Every condition compares a column with `=`/`IN`
 * and `seq` with `>`, so SQLite can walk one of the `(column, seq)` indexes in `seq` order.
 * @param aggregateId - the aggregate for `loadByAggregate`, or `undefined` for `load`.
 * @param since - only events with a larger `seq`.
 * @param groups - the grouped, validated filters, or `undefined` for none.
 * @param limit - the page size, or `undefined` for no limit.
 * @returns the SQL and its parameters.
 */
export function buildLoadQuery(
  aggregateId: string | undefined,
  since: bigint,
  groups: FilterGroups | undefined,
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
  if (groups !== undefined) {
    for (const [group, column] of GROUP_COLUMNS) {
      const values = groups[group]
      if (values === undefined || values.length === 0) continue
      where.push(
        values.length === 1
          ? `${column} = ?`
          : `${column} IN (${values.map(() => '?').join(', ')})`,
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
