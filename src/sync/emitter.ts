/**
 * The manager's event emitter: listeners by event name; a listener that throws is reported as
 * `error` (and an `error` listener that throws is dropped), so no listener can break a sync.
 *
 * @module
 */

/** Listeners by event name, for the events `TEvents` maps to their payloads. */
export class Emitter<TEvents extends { error: unknown }> {
  readonly #listeners = new Map<keyof TEvents, Set<(payload: never) => void>>()

  /**
   * Adds a listener.
   * @param name - the event.
   * @param listener - called with the payload.
   * @returns a function that removes the listener.
   */
  on<TName extends keyof TEvents>(
    name: TName,
    listener: (payload: TEvents[TName]) => void,
  ): () => void {
    let set = this.#listeners.get(name)
    if (set === undefined) {
      set = new Set()
      this.#listeners.set(name, set)
    }
    const entry = listener as (payload: never) => void
    set.add(entry)
    return () => set.delete(entry)
  }

  /**
   * Calls the listeners of `name`, in the order they were added.
   * @param name - the event.
   * @param payload - its payload.
   */
  emit<TName extends keyof TEvents>(name: TName, payload: TEvents[TName]): void {
    const set = this.#listeners.get(name)
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        ;(listener as (p: TEvents[TName]) => void)(payload)
      } catch (error) {
        if (name !== 'error') this.emit('error', error)
      }
    }
  }
}
