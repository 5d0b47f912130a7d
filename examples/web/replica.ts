/**
 * The todo app's replica in one browser: the IndexedDB store shared by every tab of the app, a
 * `SyncManager` in each tab that records its edits (the `sharedReplica()` feature keeps their
 * causal stamps apart under one replica id), of which exactly one — the tab `runInOneTab` picks,
 * by a Web Lock — syncs with the server, and what every tab needs to show: the todo list (a
 * projection `keepCurrent` keeps current from the store, whichever tab or pull wrote to it), the
 * sync state and the conflicts, which the syncing tab sends to the others on a
 * `BroadcastChannel`. When that tab closes, the next one takes over.
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
import { openIndexedDbStore, runInOneTab, sharedReplica } from 'sync-kit/indexeddb'
import type { IndexedDbStore } from 'sync-kit/indexeddb'

import { TODO_FIELDS, describeConflict, todoList } from './todos.js'
import type { ConflictNote, Todo } from './todos.js'

/** How the page can reach the sync server. */
export type NetworkState = 'starting' | 'online' | 'offline' | 'unreachable' | 'refused'

/** The sync state the page shows; the syncing tab sends it to the others. */
export interface SyncStatus {
  /**
   * `online` after a good sync; `offline` when the browser says so; `refused` when the server
   * turned the token down (401, 403); `unreachable` otherwise.
   */
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
  /** Sent as `authorization: Bearer <token>` when given (`sync-kit serve --auth-tokens`). */
  readonly token?: string
  /** The token's tenant: every event names it in `metadata.tenant`, as the server requires. */
  readonly tenant?: string
}

/** The replica as one tab sees it. */
export interface Replica {
  /** The replica id, kept in the database: the same in every tab and after a reload. */
  readonly replicaId: string
  /** Whether this tab syncs (holds the lock); the others only record. */
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
   * Records an edit in this tab; the syncing tab pushes it at once.
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

type TabMessage =
  { readonly kind: 'status'; readonly status: SyncStatus } | { readonly kind: 'hello' }

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
  const manager = createManager(store, options)
  let syncing = false
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
      // A new event, of any tab: the syncing tab counts what is left to push.
      if (syncing) void updatePending()
    })
  })

  const post = (message: TabMessage): void => tabs.postMessage(message)
  const setStatus = (next: Partial<SyncStatus>): void => {
    status = { ...status, ...next }
    post({ kind: 'status', status })
    changed()
  }

  tabs.onmessage = ({ data }: MessageEvent<TabMessage>) => {
    if (data.kind === 'status' && !syncing) {
      status = data.status
      changed()
    } else if (data.kind === 'hello' && syncing) post({ kind: 'status', status })
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

  manager.on('sync', () => {
    setStatus({ network: 'online', lastSyncAt: Date.now(), lastError: undefined })
    void updatePending()
  })
  manager.on('error', (error) =>
    setStatus({
      network: !navigator.onLine
        ? 'offline'
        : isSyncKitError(error, 'unauthorized') || isSyncKitError(error, 'forbidden')
          ? 'refused'
          : 'unreachable',
      lastError: messageOf(error),
    }),
  )
  manager.on('conflict', (report) => {
    const note = describeConflict(report, store.replicaId)
    setStatus({ conflicts: [note, ...status.conflicts].slice(0, MAX_CONFLICTS) })
  })

  // One tab syncs: it starts the manager (which, with sharedReplica(), pushes at once what any
  // tab of this replica records) and reports the sync state to the others.
  runInOneTab(options.name, async () => {
    syncing = true
    manager.start()
    setStatus({ network: navigator.onLine ? 'starting' : 'offline' })
    await updatePending()
    return async () => {
      syncing = false
      await manager.stop()
    }
  })
  post({ kind: 'hello' })
  addEventListener('offline', () => syncing && setStatus({ network: 'offline' }))
  addEventListener('online', () => syncing && void manager.sync().catch(() => undefined))

  return {
    replicaId: store.replicaId,
    get syncing() {
      return syncing
    },
    todos: () => todoList(projection),
    titleOf: (id) => titles.get(id),
    status: () => status,
    record: async (input) => {
      const { tenant } = options
      await manager.record(
        tenant === undefined ? input : { ...input, metadata: { ...input.metadata, tenant } },
      )
    },
    onChange: (listener) => void listeners.push(listener),
  }
}

function createManager(store: IndexedDbStore, options: ReplicaOptions): SyncManager {
  const transport = createHttpTransport({
    url: options.syncUrl,
    ...(options.token === undefined
      ? {}
      : { headers: { authorization: `Bearer ${options.token}` } }),
  })
  return new SyncManager({
    // No nodeId: the manager takes the store's replica id, kept in the database.
    store,
    transport,
    resolver: lastWriteWins({ deleteRule: 'delete-wins' }),
    features: [sharedReplica(), liveMode()],
    // A device coming back online should not wait a minute: retry within 5 s at most.
    backoff: { initialMs: 500, maxMs: 5_000 },
  })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
