/**
 * The todo list's model, without the DOM: the events a device records (add, rename, toggle, and a
 * tombstone to delete), the list the page shows — read from a sync-kit projection, so every device
 * computes the same list from the same events whatever order they arrived in — and the words the
 * page uses for a conflict the `SyncManager` reported.
 *
 * @example
 * ```ts
 * import { createProjection } from 'sync-kit'
 * import { TODO_FIELDS, addTodo, todoList } from './todos.js'
 *
 * const projection = createProjection(TODO_FIELDS)
 * await manager.record(addTodo('Buy milk', Date.now()))
 * projection.apply(await store.load(null))
 * console.log(todoList(projection)) // [{ id: 'todo-…', title: 'Buy milk', done: false, … }]
 * ```
 *
 * @module
 */
import { createTombstone, isTombstone } from 'sync-kit'
import type {
  ConflictReport,
  Event,
  MaterializeOptions,
  Projection,
  RecordInput,
  TombstoneEvent,
} from 'sync-kit'

/** A todo was created: its whole state. */
export const TODO_ADDED = 'TodoAdded'
/** A todo's title changed. */
export const TODO_RENAMED = 'TodoRenamed'
/** A todo was checked or unchecked. */
export const TODO_TOGGLED = 'TodoToggled'

/** Longest title, in characters: longer input is cut. */
export const MAX_TITLE_LENGTH = 200

/**
 * How the projection reads the todos (and how the resolver decides): every field is a value field
 * (the causally latest write wins, concurrent writes by HLC), and a delete concurrent with an edit
 * keeps the todo deleted — the same rule `lastWriteWins()` applies, so the list and the conflict
 * reports agree.
 */
export const TODO_FIELDS: MaterializeOptions = { deleteRule: 'delete-wins' }

/** One todo as the page shows it. */
export interface Todo {
  /** Its aggregate id, `todo-<uuid>`. */
  readonly id: string
  /** Its title. */
  readonly title: string
  /** Whether it is done. */
  readonly done: boolean
  /** When it was added, ms since the epoch on the device that added it (the list's order). */
  readonly createdAt: number
}

/**
 * Trims a title and cuts it to {@link MAX_TITLE_LENGTH}.
 * @param title - what the user typed.
 * @returns the title, `''` when nothing is left.
 */
export function cleanTitle(title: string): string {
  return title.trim().slice(0, MAX_TITLE_LENGTH)
}

/**
 * The event that adds a todo.
 * @param title - its title (cleaned by {@link cleanTitle}).
 * @param createdAt - now, in ms since the epoch.
 * @param id - its aggregate id. @defaultValue `todo-<random uuid>`
 * @returns the event, for `manager.record`.
 */
export function addTodo(
  title: string,
  createdAt: number,
  id = `todo-${crypto.randomUUID()}`,
): RecordInput {
  return {
    type: TODO_ADDED,
    aggregateId: id,
    data: { title: cleanTitle(title), done: false, createdAt },
  }
}

/**
 * The event that renames a todo.
 * @param id - the todo.
 * @param title - the new title (cleaned by {@link cleanTitle}).
 * @returns the event, for `manager.record`.
 */
export function renameTodo(id: string, title: string): RecordInput {
  return { type: TODO_RENAMED, aggregateId: id, data: { title: cleanTitle(title) } }
}

/**
 * The event that checks or unchecks a todo.
 * @param id - the todo.
 * @param done - its new state.
 * @returns the event, for `manager.record`.
 */
export function setDone(id: string, done: boolean): RecordInput {
  return { type: TODO_TOGGLED, aggregateId: id, data: { done } }
}

/**
 * The tombstone that deletes a todo: it stays deleted on every device, and an edit made
 * concurrently elsewhere does not bring it back (`delete-wins`).
 * @param id - the todo.
 * @returns the event, for `manager.record`.
 */
export function deleteTodo(id: string): TombstoneEvent {
  return createTombstone({ aggregateId: id })
}

/**
 * The live todos of a projection, oldest first (ties by id, so every device shows one order).
 * @param projection - a projection made with {@link TODO_FIELDS}, fed the store's events.
 * @returns the todos.
 */
export function todoList(projection: Projection): Todo[] {
  const todos: Todo[] = []
  for (const id of projection.aggregateIds()) {
    const state = projection.get(id)
    if (state.status !== 'live') continue
    const { title, done, createdAt } = state.data
    todos.push({
      id,
      title: typeof title === 'string' ? title : '',
      done: done === true,
      createdAt: typeof createdAt === 'number' ? createdAt : 0,
    })
  }
  return todos.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
}

/** A conflict as the page lists it. */
export interface ConflictNote {
  /** The todo both devices changed; the page puts its title before the text. */
  readonly aggregateId: string
  /** The id of the event that prevailed (when one side won outright). */
  readonly winner?: string
  /** What happened, for the user: what each device did and what was kept. */
  readonly text: string
}

/**
 * Says what the `SyncManager` decided about a conflict, in the user's words: what each device did
 * and what was kept. The todo's title is left to the page (the latest one it knows, which does not
 * depend on when the conflict was detected).
 * @param report - the manager's `conflict` event.
 * @param replicaId - this device's replica id, to tell "this device" from "another device".
 * @returns the note.
 */
export function describeConflict(report: ConflictReport, replicaId: string): ConflictNote {
  const { conflict, resolution } = report
  const sides = [conflict.local.event, conflict.remote.event]
  const winner = sides.find((event) => event.id === resolution.winner)
  const loser = sides.find((event) => event !== winner)
  const where = (event: Event): string =>
    event.metadata?.origin === replicaId ? 'this device' : 'another device'
  const base = { aggregateId: conflict.aggregateId, ...(winner ? { winner: winner.id } : {}) }
  if (winner === undefined || loser === undefined) {
    return { ...base, text: `changed on two devices at once (${resolution.decision})` }
  }
  if (isTombstone(winner)) {
    return {
      ...base,
      text: `deleted on ${where(winner)} while ${what(loser)} on ${where(loser)} — the delete wins`,
    }
  }
  if (isTombstone(loser)) {
    return {
      ...base,
      text: `${what(winner)} on ${where(winner)} after the delete on ${where(loser)} — kept`,
    }
  }
  const contested = contestedFields(winner, loser)
  if (contested.length === 0) {
    return {
      ...base,
      text: `${what(winner)} on ${where(winner)} and ${what(loser)} on ${where(loser)} — both kept`,
    }
  }
  const kept = contested
    .map((field) => `${field} ${show(field, winner)} (${where(winner)}) over ${show(field, loser)}`)
    .join(', ')
  return { ...base, text: `both devices changed it — kept ${kept}` }
}

function what(event: Event): string {
  if (event.type === TODO_RENAMED) return 'renamed'
  if (event.type === TODO_TOGGLED) {
    return (event.data as { done?: unknown } | null)?.done === true ? 'checked' : 'unchecked'
  }
  if (event.type === TODO_ADDED) return 'added'
  return 'changed'
}

/** Fields both events set, to different values: the winner's value is the one kept. */
function contestedFields(winner: Event, loser: Event): string[] {
  const a = (winner.data ?? {}) as Record<string, unknown>
  const b = (loser.data ?? {}) as Record<string, unknown>
  return Object.keys(a)
    .filter(
      (field) => Object.hasOwn(b, field) && JSON.stringify(a[field]) !== JSON.stringify(b[field]),
    )
    .sort()
}

function show(field: string, event: Event): string {
  const value = (event.data as Record<string, unknown>)[field]
  return typeof value === 'string' ? `“${value}”` : JSON.stringify(value)
}
