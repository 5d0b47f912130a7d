import type { IndexedDbStoredMessage } from './indexeddb-types.js'

/**
 * The name of the `BroadcastChannel` on which the store of database `name` posts an
 * {@link IndexedDbStoredMessage} after each write that stored new events. Other tabs, windows
 * and workers of the same site listen on it to learn of writes they did not make.
 * @param name - the database name.
 * @returns `sync-kit:indexeddb:<name>`.
 * @example
 * ```ts
 * import { indexedDbChannelName, type IndexedDbStoredMessage } from 'sync-kit/indexeddb'
 *
 * const channel = new BroadcastChannel(indexedDbChannelName('my-app-sync'))
 * channel.onmessage = (message: MessageEvent<IndexedDbStoredMessage>) => {
 *   console.log(`another tab stored ${message.data.count} events, up to ${message.data.latest}`)
 * }
 * ```
 */
export function indexedDbChannelName(name: string): string {
  return `sync-kit:indexeddb:${name}`
}

interface ChannelLike {
  postMessage(message: unknown): void
  close(): void
  unref?(): void
  onmessage: ((message: { readonly data: unknown }) => void) | null
}

type ChannelConstructor = new (name: string) => ChannelLike

/**
 * Posts the store's write notifications on its channel, opened on the first one; a no-op where
 * `BroadcastChannel` is missing or broadcasting is off. A failing post never fails the write.
 */
export class WriteNotifier {
  readonly #channelName: string
  readonly #Channel: ChannelConstructor | undefined
  #channel: ChannelLike | undefined

  /**
   * @param name - the database name.
   * @param enabled - whether to post at all.
   */
  constructor(name: string, enabled: boolean) {
    this.#channelName = indexedDbChannelName(name)
    const Channel = (globalThis as { BroadcastChannel?: ChannelConstructor }).BroadcastChannel
    this.#Channel = enabled && typeof Channel === 'function' ? Channel : undefined
  }

  /**
   * Posts one notification.
   * @param message - what was stored.
   */
  post(message: IndexedDbStoredMessage): void {
    try {
      this.#open()?.postMessage(message)
    } catch {
      // Notifications are a courtesy to other tabs; the write itself has committed.
    }
  }

  /**
   * Hears the notifications other stores of the database post (other tabs, windows, workers,
   * or another store object in this one; a channel never hears its own posts).
   * @param onStored - called with the `latest` version of each notification.
   */
  listen(onStored: (latest: string) => void): void {
    let channel: ChannelLike | undefined
    try {
      channel = this.#open()
    } catch {
      // No channel (an opaque origin): this tab's own appends still wake; other tabs' do not.
    }
    if (channel === undefined) return
    channel.onmessage = ({ data }) => {
      const message = data as Partial<IndexedDbStoredMessage> | null
      if (message?.type === 'stored' && typeof message.latest === 'string') {
        onStored(message.latest)
      }
    }
  }

  #open(): ChannelLike | undefined {
    if (this.#Channel === undefined) return undefined
    if (this.#channel === undefined) {
      this.#channel = new this.#Channel(this.#channelName)
      // Node: an open channel must not keep the process alive.
      this.#channel.unref?.()
    }
    return this.#channel
  }

  /** Closes the channel. */
  close(): void {
    this.#channel?.close()
    this.#channel = undefined
  }
}
