/**
 * The todo app's replica in one browser: the IndexedDB store shared by every tab of the app, the
 * `SyncManager` that syncs it with the server — run by exactly one tab, the one holding a Web Lock
 * — and what every tab needs to show: the todo list (a projection kept current from the store),
 * the sync state and the conflicts.
 *
 * Why one tab: a replica's causal stamps (its HLC and its dots) are kept by the manager that
 * records, so two managers recording under one replica id would hand out the same dots. The other
 * tabs send their edits to the syncing tab over a `BroadcastChannel` and hear its sync state
 * back; when that tab closes, the lock passes to another and it starts syncing.
 *
 * @example
 * ```ts
 * import { openReplica } from './replica.js'
 *
 * const replica = await openReplica({ name: 'todo-app', syncUrl: 'http://127.0.0.1:8787' })
 * replica.onChange(() => render(replica.todos(), replica.status()))
 * await replica.record(addTodo('Buy milk', Date.now()))
 * ```
 *
 * @module
 */
import {
  SyncManager,
  createProjection,
  keepCurrent,
  isSyncKitError,
  isTombstone,
  lastWriteWins,
  liveMode,
  materializeAggregate,
} from 'sync-kit'
import type { RecordInput } from 'sync-kit'
import { createHttpTransport } from 'sync-kit/http'
import { openIndexedDbStore } from 'sync-kit/indexeddb'
import type { IndexedDbStore } from 'sync-kit/indexeddb'

import { TODO_FIELDS, describeConflict, todoList } from './todos.js'
import type { ConflictNote, Todo } from './todos.js'

/** How the page can reach the sync server. */
export type NetworkState = 'starting' | 'online' | 'offline' | 'unreachable'

/** The sync state the page shows; the syncing tab sends it to the others. */
export interface SyncStatus {
  /** `online` after a good sync; `offline` when the browser says so; `unreachable` otherwise. */
  readonly network: NetworkState
  /** Events recorded on this device that the server has not acknowledged yet. */
  readonly pending: number
  /** The message of the last failure, until a sync succeeds. */
  readonly lastError?: string | undefined
  /** When the last good sync ended, ms since the epoch. */
  readonly lastSyncAt?: number
  /** The conflicts the manager reported since this tab started syncing, newest first. */
  readonly conflicts: readonly ConflictNote[]
}

/** Options of {@link openReplica}. */
export interface ReplicaOptions {
  /** The IndexedDB database (one per app and user). */
  readonly name: string
  /** The sync server. */
  readonly syncUrl: string
  /** Sent as `authorization: Bearer <token>` when given. */
  readonly token?: string
}

/** The replica as one tab sees it. */
export interface Replica {
  /** The replica id, kept in the database: the same in every tab and after a reload. */
  readonly replicaId: string
  /** Whether this tab syncs (holds the lock); the others send it their edits. */
  readonly syncing: boolean
  /** The live todos, oldest first. */
  todos(): Todo[]
  /**
   * A todo's title: its current one, or for a deleted todo the last one this tab saw.
   * @param aggregateId - the todo.
   */
  titleOf(aggregateId: string): string | undefined
  /** The sync state (in a tab that does not sync: as the syncing tab last reported it). */
  status(): SyncStatus
  /**
   * Records an edit: here when this tab syncs, else in the syncing tab.
   * @param input - the event, from `addTodo`, `renameTodo`, `setDone` or `deleteTodo`.
   */
  record(input: RecordInput): Promise<void>
  /**
   * Calls `listener` whenever the list, the sync state or the tab's role changed.
   * @param listener - the page's render function.
   */
  onChange(listener: () => void): void
}

/** Most conflicts the page lists. */
const MAX_CONFLICTS = 20
/** How long a tab waits for the syncing tab to take an edit, per attempt. */
const FORWARD_TIMEOUT_MS = 2_000

type TabMessage =
  | { readonly kind: 'record'; readonly requestId: string; readonly input: RecordInput }
  | { readonly kind: 'recorded'; readonly requestId: string; readonly error?: string }
  | { readonly kind: 'status'; readonly status: SyncStatus }
  | { readonly kind: 'hello' }

/**
 * Opens the replica in this tab: the store, the todo list, and the race for the sync lock.
 * @param options - database name, sync server, token.
 * @returns the replica.
 * @throws SyncKitError from opening the store (e.g. `unavailable` while another tab upgrades it).
 */
export async function openReplica(options: ReplicaOptions): Promise<Replica> {
  const store = await openIndexedDbStore({ name: options.name })
  const projection = createProjection(TODO_FIELDS)
  const titles = new Map<string, string>()
  const listeners: (() => void)[] = []
  const changed = (): void => listeners.forEach((listener) => listener())
  const tabs = new BroadcastChannel(`todo-app:${options.name}:tabs`)
  let manager: SyncManager | undefined
  let status: SyncStatus = { network: 'starting', pending: 0, conflicts: [] }

  // The list: every event of the store, then each change — recorded here, pulled, or stored by
  // another tab (the IndexedDB store hears their BroadcastChannel messages).
  const nameTodo = async (id: string): Promise<void> => {
    const state = projection.get(id)
    // A deleted todo is named by its title before the delete: its edits without the tombstone,
    // materialized by the same rules (so the same name whatever order the events came in).
    const named =
      state.status === 'deleted'
        ? materializeAggregate(
            (await store.loadByAggregate(id, null)).filter((e) => !isTombstone(e.event)),
            TODO_FIELDS,
          )
        : state
    const title = named.data['title']
    if (typeof title === 'string') titles.set(id, title)
  }
  await new Promise<void>((loaded) => {
    keepCurrent(store, { projection }, (_view, ids) => {
      void Promise.all(ids.map(nameTodo)).then(() => {
        loaded()
        changed()
      })
    })
  })

  const post = (message: TabMessage): void => tabs.postMessage(message)
  const setStatus = (next: Partial<SyncStatus>): void => {
    status = { ...status, ...next }
    post({ kind: 'status', status })
    changed()
  }

  const waiting = new Map<string, (error?: string) => void>()
  tabs.onmessage = ({ data }: MessageEvent<TabMessage>) => {
    if (data.kind === 'recorded') waiting.get(data.requestId)?.(data.error)
    else if (data.kind === 'status' && manager === undefined) {
      status = data.status
      changed()
    } else if (data.kind === 'hello' && manager !== undefined) post({ kind: 'status', status })
    else if (data.kind === 'record' && manager !== undefined) {
      const { requestId, input } = data
      recordHere(input).then(
        () => post({ kind: 'recorded', requestId }),
        (error: unknown) => post({ kind: 'recorded', requestId, error: messageOf(error) }),
      )
    }
  }

  const recordHere = async (input: RecordInput): Promise<void> => {
    const active = manager
    if (active === undefined) throw new Error('this tab does not sync')
    try {
      await active.record(input)
    } catch (error) {
      // The same edit again (a tab resent it when the answer was late): it is already stored.
      if (!isSyncKitError(error, 'event-id-conflict')) throw error
    }
    await updatePending()
    // Live mode pushes on its interval; an edit goes out at once.
    void active.sync().catch(() => undefined)
  }

  const updatePending = async (): Promise<void> => {
    const checkpoint = await store.getCheckpoint({ remote: 'default', direction: 'push' })
    let since = checkpoint === undefined ? null : store.parseVersion(checkpoint.version)
    let pending = 0
    for (;;) {
      const page = await store.load(since, { limit: 500 })
      const last = page.at(-1)
      if (last === undefined) break
      pending += page.filter((e) => e.event.metadata?.origin === store.replicaId).length
      since = last.version
    }
    if (pending !== status.pending) setStatus({ pending })
  }

  // The race for the sync lock: the tab that gets it syncs until it closes.
  void navigator.locks.request(`todo-app:${options.name}:sync`, async () => {
    manager = startSyncing(store, options, {
      onSynced: () => {
        setStatus({ network: 'online', lastSyncAt: Date.now(), lastError: undefined })
        void updatePending()
      },
      onError: (error) =>
        setStatus({
          network: navigator.onLine ? 'unreachable' : 'offline',
          lastError: messageOf(error),
        }),
      onConflict: (note) =>
        setStatus({ conflicts: [note, ...status.conflicts].slice(0, MAX_CONFLICTS) }),
    })
    setStatus({ network: navigator.onLine ? 'starting' : 'offline' })
    await updatePending()
    // Held until the tab closes: the lock is released with it.
    await new Promise<never>(() => undefined)
  })
  post({ kind: 'hello' })
  addEventListener('offline', () => manager && setStatus({ network: 'offline' }))
  addEventListener('online', () => void manager?.sync().catch(() => undefined))

  const forward = async (input: RecordInput): Promise<void> => {
    const requestId = crypto.randomUUID()
    for (;;) {
      const answer = await new Promise<string | undefined | 'timeout'>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), FORWARD_TIMEOUT_MS)
        waiting.set(requestId, (error) => {
          clearTimeout(timer)
          resolve(error)
        })
        post({ kind: 'record', requestId, input })
      })
      waiting.delete(requestId)
      if (answer === undefined) return
      if (answer !== 'timeout') throw new Error(answer)
      // No syncing tab answered (it was closing): this one may hold the lock by now.
      if (manager !== undefined) return recordHere(input)
    }
  }

  return {
    replicaId: store.replicaId,
    get syncing() {
      return manager !== undefined
    },
    todos: () => todoList(projection),
    titleOf: (id) => titles.get(id),
    status: () => status,
    record: (input) => {
      // A fixed id, so an edit sent again after a late answer is recognised as the same one.
      const withId = { ...input, id: input.id ?? crypto.randomUUID() }
      return manager === undefined ? forward(withId) : recordHere(withId)
    },
    onChange: (listener) => void listeners.push(listener),
  }
}

interface SyncHooks {
  readonly onSynced: () => void
  readonly onError: (error: unknown) => void
  readonly onConflict: (note: ConflictNote) => void
}

function startSyncing(
  store: IndexedDbStore,
  options: ReplicaOptions,
  hooks: SyncHooks,
): SyncManager {
  const transport = createHttpTransport({
    url: options.syncUrl,
    ...(options.token === undefined
      ? {}
      : { headers: { authorization: `Bearer ${options.token}` } }),
  })
  const manager = new SyncManager({
    // No nodeId: the manager takes the store's replica id, kept in the database.
    store,
    transport,
    resolver: lastWriteWins({ deleteRule: 'delete-wins' }),
    features: [liveMode()],
    // A device coming back online should not wait a minute: retry within 5 s at most.
    backoff: { initialMs: 500, maxMs: 5_000 },
  })
  manager.on('sync', hooks.onSynced)
  manager.on('error', hooks.onError)
  manager.on('conflict', (report) => hooks.onConflict(describeConflict(report, store.replicaId)))
  manager.start()
  return manager
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
