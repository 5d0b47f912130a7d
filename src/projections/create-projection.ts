import type { Event, EventWithVersion } from '../types/index.js'
import { compareCodePoints } from './json-order.js'
import { addUnique, checkEvent, checkOptions, fold, unwrap } from './materialize-aggregate.js'
import type { MaterializeOptions, MaterializedAggregate } from './materialize-aggregate.js'

/** A live view of many aggregates; see {@link createProjection}. */
export interface Projection {
  /**
   * Adds events (any aggregates, any order, duplicates allowed). All or nothing: when one event
   * is rejected, none of the batch is added.
   * @param events - events, or `EventWithVersion`s as stores, pulls and subscriptions return them.
   * @returns the ids of the aggregates that changed (got a new event), sorted.
   * @throws SyncKitError `invalid-event`, `event-id-conflict` (a different event under a known id).
   */
  apply(events: Iterable<Event | EventWithVersion>): string[]
  /**
   * The state of one aggregate, computed on first read after a change and cached.
   * @param aggregateId - the aggregate.
   * @returns its state; status `absent` (and `aggregateId` set) when no event of it was applied.
   * @throws SyncKitError `invalid-event` when one of its events holds a malformed counter/set
   * value.
   */
  get(aggregateId: string): MaterializedAggregate
  /**
   * The aggregates with at least one event, sorted.
   * @returns their ids.
   */
  aggregateIds(): string[]
}

/**
 * Creates an in-memory projection: feed it events as they arrive (from `store.load`, a
 * `SyncManager`'s store, a subscription) and read aggregates' states. Each state is exactly
 * `materializeAggregate` of the aggregate's events so far, so it does not depend on arrival order
 * or duplicates; it is recomputed lazily, only for aggregates that changed.
 *
 * @param options - the delete rule and the field kinds, as for `materializeAggregate`.
 * @returns the projection.
 * @throws SyncKitError `invalid-argument` for bad options.
 * @example
 * ```ts
 * import { createProjection } from 'sync-kit'
 *
 * const todos = createProjection({ deleteRule: 'delete-wins' })
 * todos.apply(await store.load(null))
 * const changed = todos.apply(pulledEvents) // ['todo-7']
 * console.log(todos.get('todo-7').data)
 * ```
 */
export function createProjection(options: MaterializeOptions = {}): Projection {
  const config = checkOptions(options, 'projection')
  const byId = new Map<string, Event>()
  const byAggregate = new Map<string, Event[]>()
  const cache = new Map<string, MaterializedAggregate>()
  return {
    apply(input) {
      // Validate the whole batch first, so a rejected event leaves the projection unchanged.
      const fresh = new Map<string, Event>()
      for (const item of input) {
        const event = checkEvent(unwrap(item), 'projection')
        const known = byId.get(event.id)
        if (known !== undefined) addUnique(new Map([[known.id, known]]), event, 'projection')
        else addUnique(fresh, event, 'projection')
      }
      const changed = new Set<string>()
      for (const event of fresh.values()) {
        byId.set(event.id, event)
        const list = byAggregate.get(event.aggregateId)
        if (list === undefined) byAggregate.set(event.aggregateId, [event])
        else list.push(event)
        changed.add(event.aggregateId)
        cache.delete(event.aggregateId)
      }
      return [...changed].sort(compareCodePoints)
    },
    get(aggregateId) {
      const hit = cache.get(aggregateId)
      if (hit !== undefined) return hit
      const state = fold(aggregateId, byAggregate.get(aggregateId) ?? [], config)
      if (byAggregate.has(aggregateId)) cache.set(aggregateId, state)
      return state
    },
    aggregateIds() {
      return [...byAggregate.keys()].sort(compareCodePoints)
    },
  }
}
