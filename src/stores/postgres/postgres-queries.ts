import type { FilterGroups } from '../../core/filters.js'
import type { StoredEventColumns } from '../../core/stored-event.js'
import type { PostgresNames } from './postgres-names.js'

/** A query: its SQL and the values of its `$n` placeholders. */
export interface PostgresQuery {
  /** The SQL text. */
  readonly text: string
  /** Values in placeholder order. */
  readonly values: unknown[]
}

/**
 * The columns every event read selects. Everything is read as text and parsed here, so the
 * result does not depend on type parsers the application may have set on `pg` (e.g. `int8` as a
 * `number`, which would lose precision past 2^53, or `json` parsed into objects).
 */
export const EVENT_COLUMNS =
  'seq::text AS seq, id, type, aggregate_id, data::text AS data, metadata::text AS metadata'

/** A row of the events table as {@link EVENT_COLUMNS} reads it. */
export interface EventRow extends StoredEventColumns {
  /** The sequence number, decimal. */
  readonly seq: string
}

/** Filter group → column of the events table, in the order the WHERE clause lists them. */
const GROUP_COLUMNS: readonly (readonly [keyof FilterGroups, string])[] = [
  ['type', 'type'],
  ['tenant', 'tenant'],
  ['aggregateId', 'aggregate_id'],
]

/**
 * Builds the SQL for `load`/`loadByAggregate` from filters grouped by `groupFilters`: one key's
 * values → `=`/`= ANY` (OR), different keys → `AND`, and `seq > since` in `seq` order, so that
 * PostgreSQL can walk the primary key or one of the `(column, seq)` indexes.
 * @param names - the store's object names.
 * @param aggregateId - the aggregate for `loadByAggregate`, or `undefined` for `load`.
 * @param since - only events with a larger `seq` (decimal).
 * @param groups - the grouped, validated filters, or `undefined` for none.
 * @param limit - the page size, or `undefined` for no limit.
 * @returns the query.
 */
export function buildLoadQuery(
  names: PostgresNames,
  aggregateId: string | undefined,
  since: string,
  groups: FilterGroups | undefined,
  limit: number | undefined,
): PostgresQuery {
  const values: unknown[] = [since]
  const where = ['seq > $1::bigint']
  const add = (column: string, list: readonly string[]): void => {
    if (list.length === 1) {
      values.push(list[0])
      where.push(`${column} = $${values.length}`)
    } else {
      values.push(list)
      where.push(`${column} = ANY($${values.length}::text[])`)
    }
  }
  if (aggregateId !== undefined) add('aggregate_id', [aggregateId])
  if (groups !== undefined) {
    for (const [group, column] of GROUP_COLUMNS) {
      const list = groups[group]
      if (list !== undefined && list.length > 0) add(column, list)
    }
  }
  values.push(limit ?? null)
  return {
    // `e.seq`, not `seq`: ORDER BY would take the output column `seq`, which is text.
    text: `SELECT ${EVENT_COLUMNS} FROM ${names.events} e WHERE ${where.join(' AND ')} ORDER BY e.seq LIMIT $${values.length}::bigint`,
    values,
  }
}
