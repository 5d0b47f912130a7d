import { EVENT_JSON_MAX_DEPTH } from '../../core/event-validation.js'
import { exceedsDepth } from '../../core/json-value.js'
import { toWireError } from '../../core/wire-error.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { pageBody } from '../../server/index.js'
import type { ByteLease, SyncEndpoint } from '../../server/index.js'
import type { Version } from '../../types/index.js'
import { WS_CLOSE, WS_PROTOCOL_VERSION, isObject, isRequestId } from './protocol.js'
import type { RequestId, WsLimits } from './protocol.js'
import { parseWireEvent } from './wire-event.js'
import { SessionSubscriptions } from './ws-subscriptions.js'
import {
  SERVER,
  closeCode,
  filtersOf,
  invalid,
  limitOf,
  protocolError,
  result,
  withHeaders,
} from './ws-fields.js'

export { SERVER } from './ws-fields.js'

/** What a session needs of its socket (the `ws` package's `WebSocket` has it). */
export interface SessionSocket {
  /** Bytes queued to send and not yet handed to the operating system. */
  readonly bufferedAmount: number
  send(text: string): void
  close(code: number, reason: string): void
  /** Stops reading from the socket (inbound backpressure). */
  pause(): void
  resume(): void
}

/** The settings of every session of one server. */
export interface SessionSettings {
  readonly endpoint: SyncEndpoint
  readonly limits: WsLimits
  /** Most bytes queued to one socket before it is closed with 1013. */
  readonly maxBufferedBytes: number
  /** Most requests of one socket in progress at once; then the socket is read no further. */
  readonly maxInFlight: number
  readonly idleTimeoutMs: number
  /** Longest wait for the hello after the upgrade, in ms. */
  readonly helloTimeoutMs: number
}

/** The fields of a log record. */
type LogFields = Parameters<SyncEndpoint['log']>[2]

/**
 * One WebSocket connection mapped onto the server endpoint: the hello (authentication, the
 * welcome with the limits), then each request onto the server core (`checkPush`/`push`, `pull`,
 * `latestVersion`, `subscribe`), replies by request id, live batches awaited by the client's `ack`
 * (so a subscription never queues more than one batch in the server's memory), and the bounds
 * of one socket: its send buffer, its requests in progress, its subscriptions.
 */
export class Session {
  readonly #socket: SessionSocket
  readonly #settings: SessionSettings
  /** The upgrade request, with the hello's headers once it arrived. */
  #request: Request
  readonly #started: number
  #tenant: string | undefined
  #state: 'hello' | 'authenticating' | 'open' | 'closed' = 'hello'
  readonly #subs: SessionSubscriptions
  readonly #inFlight = new Set<RequestId>()
  readonly #leases = new Set<ByteLease>()
  #paused = false
  /**
   * Frames that arrived while paused: `ws` still emits the frames of data it already read after
   * `pause()` (a whole TCP chunk, hundreds of small requests), so they wait here, in order, until a
   * request finishes, instead of passing `maxInFlight`.
   */
  readonly #backlog: [data: string, binary: boolean][] = []
  /** When the socket last received or sent a message, by the endpoint's clock. */
  lastReceived: number
  lastSent: number

  /**
   * @param socket - the accepted socket.
   * @param request - the upgrade request as a `Request` (URL, headers), for `authorize`.
   * @param settings - the server's settings.
   */
  constructor(socket: SessionSocket, request: Request, settings: SessionSettings) {
    this.#socket = socket
    this.#request = request
    this.#settings = settings
    this.#started = settings.endpoint.now()
    this.lastReceived = this.#started
    this.lastSent = this.#started
    this.#subs = new SessionSubscriptions(
      settings,
      (text) => this.#send(text),
      () => this.closed,
    )
  }

  /** True once the socket closed. */
  get closed(): boolean {
    return this.#state === 'closed'
  }

  /**
   * Handles one frame.
   * @param data - the frame's text (or bytes, for a binary frame).
   * @param binary - true for a binary frame, which the protocol does not use.
   */
  receive(data: string, binary: boolean): void {
    this.lastReceived = this.#settings.endpoint.now()
    if (this.#state === 'closed') return
    if (this.#paused) {
      this.#backlog.push([data, binary])
      return
    }
    this.#handle(data, binary)
  }

  #handle(data: string, binary: boolean): void {
    if (binary) {
      return this.#unreadable('binary frames are not part of the protocol; send JSON text')
    }
    let message: unknown
    try {
      message = JSON.parse(data) as unknown
    } catch {
      return this.#unreadable('the frame is not JSON')
    }
    if (!isObject(message) || typeof message.type !== 'string') {
      return this.#unreadable('a message is a JSON object with a string "type"')
    }
    const { type } = message
    if (type === 'ping') return this.#send('{"type":"pong"}')
    if (type === 'pong') return
    if (this.#state !== 'open') {
      if (type === 'hello' && this.#state === 'hello') return void this.#hello(message)
      this.#refuse(
        undefined,
        protocolError(`"${type.slice(0, 40)}" before the welcome; send hello first`),
      )
      this.close(WS_CLOSE.refused, 'hello first')
      return
    }
    if (type === 'ack') return this.#subs.ack(message.sub)
    const id = message.id
    if (!isRequestId(id)) {
      this.#refuse(undefined, protocolError(`a "${type.slice(0, 40)}" request needs an "id"`))
      return
    }
    if (this.#inFlight.has(id) || this.#subs.has(id)) {
      this.#refuse(id, invalid('id', `${JSON.stringify(id)} is already in use on this socket`))
      return
    }
    this.#run(id, type, message, Buffer.byteLength(data))
  }

  /**
   * Refuses a frame that is not a message: the socket stays open once welcomed; before the
   * welcome it is closed (1008), as for any frame but the hello.
   */
  #unreadable(problem: string): void {
    this.#refuse(undefined, protocolError(problem))
    if (this.#state !== 'open') this.close(WS_CLOSE.refused, 'hello first')
  }

  /**
   * Ends the session: ends its subscriptions, gives back its body bytes and live slots, closes the
   * socket. Idempotent.
   * @param code - the close code.
   * @param reason - a short reason.
   */
  close(code: number, reason: string): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#backlog.length = 0
    this.#subs.endAll()
    for (const lease of this.#leases) lease.release()
    this.#leases.clear()
    try {
      this.#socket.close(code, reason)
    } catch {
      // Already closing.
    }
    const clean = code === WS_CLOSE.normal || code === WS_CLOSE.goingAway
    this.#log({
      stream: 'closed',
      events: this.#subs.sentEvents,
      ...(clean
        ? {}
        : {
            level: 'warn',
            code: closeCode(code),
            message: `${SERVER} closed with ${code}: ${reason}`,
          }),
    })
  }

  /** The socket closed from the other side (or the network): clean up without closing it again. */
  closedByPeer(): void {
    this.close(WS_CLOSE.normal, 'closed')
  }

  /**
   * Sends a `ping` after `heartbeatMs` of outbound silence, closes a socket silent for the idle
   * timeout; called on the server's heartbeat tick.
   * @param now - the endpoint's clock.
   */
  tick(now: number): void {
    if (this.#state === 'closed') return
    const helloLate =
      this.#state === 'hello' && now - this.#started >= this.#settings.helloTimeoutMs
    if (helloLate || now - this.lastReceived >= this.#settings.idleTimeoutMs) {
      this.close(WS_CLOSE.idle, 'idle timeout')
      return
    }
    if (now - this.lastSent >= this.#settings.endpoint.heartbeatMs) this.#send('{"type":"ping"}')
  }

  async #hello(message: Readonly<Record<string, unknown>>): Promise<void> {
    this.#state = 'authenticating'
    const { endpoint, limits, idleTimeoutMs } = this.#settings
    try {
      if (message.protocol !== WS_PROTOCOL_VERSION) {
        throw protocolError(
          `this server speaks protocol ${WS_PROTOCOL_VERSION}, the hello asked for ${JSON.stringify(message.protocol)?.slice(0, 20) ?? 'none'}`,
        )
      }
      if (endpoint.closing) {
        throw new SyncKitError('unavailable', `${SERVER} the server is shutting down; retry`, {})
      }
      this.#request = withHeaders(this.#request, message.headers)
      this.#tenant = await endpoint.authenticate(this.#request)
      const head = await endpoint.server.latestVersion()
      // The socket may have closed during the awaits.
      if (this.closed) return
      this.#state = 'open'
      this.#send(
        JSON.stringify({
          type: 'welcome',
          protocol: WS_PROTOCOL_VERSION,
          epoch: head.epoch,
          latestVersion: head.latestVersion.toString(),
          heartbeatMs: endpoint.heartbeatMs,
          idleTimeoutMs,
          limits,
        }),
      )
      this.#log({ stream: 'open' })
    } catch (error) {
      this.#refuse(undefined, error)
      this.close(WS_CLOSE.refused, 'hello refused')
    }
  }

  #run(
    id: RequestId,
    type: string,
    message: Readonly<Record<string, unknown>>,
    size: number,
  ): void {
    this.#inFlight.add(id)
    if (this.#inFlight.size >= this.#settings.maxInFlight && !this.#paused) {
      // Read no further until a request finishes: a flood waits in the client's TCP buffers.
      this.#paused = true
      this.#socket.pause()
    }
    const started = this.#settings.endpoint.now()
    const log: LogFields = {}
    void this.#dispatch(id, type, message, size, log).then(
      (reply) => {
        if (reply !== undefined) this.#send(reply)
        this.#log(log, type, started)
        this.#done(id)
      },
      (error: unknown) => {
        this.#refuse(id, error, started, type)
        this.#done(id)
      },
    )
  }

  #done(id: RequestId): void {
    this.#inFlight.delete(id)
    if (!this.#paused || this.#inFlight.size >= this.#settings.maxInFlight) return
    this.#paused = false
    // The frames that arrived while paused first, until the bound is reached again.
    let next: [string, boolean] | undefined
    while (!this.#paused && this.#state !== 'closed' && (next = this.#backlog.shift())) {
      this.#handle(...next)
    }
    if (!this.#paused && this.#state !== 'closed') this.#socket.resume()
  }

  /** One request onto the server core; resolves to the reply's text. */
  async #dispatch(
    id: RequestId,
    type: string,
    message: Readonly<Record<string, unknown>>,
    size: number,
    log: LogFields,
  ): Promise<string | undefined> {
    const { server } = this.#settings.endpoint
    if (this.#settings.endpoint.closing) {
      throw new SyncKitError('unavailable', `${SERVER} the server is shutting down; retry`, {})
    }
    switch (type) {
      case 'push':
        return this.#push(id, message, size, log)
      case 'pull': {
        const since = this.#since(message.since)
        const page = await server.pull(since, {
          limit: limitOf(message.limit),
          filters: filtersOf(message.filters),
          tenant: this.#tenant,
        })
        log.events = page.events.length
        return `{"type":"result","id":${JSON.stringify(id)},"result":${pageBody(page)}}`
      }
      case 'latest': {
        const head = await server.latestVersion()
        return result(id, { latestVersion: head.latestVersion.toString(), epoch: head.epoch })
      }
      case 'subscribe':
        return this.#subs.open(id, message, this.#since(message.since), this.#tenant)
      case 'unsubscribe': {
        if (isRequestId(message.sub)) this.#subs.end(message.sub)
        return result(id, {})
      }
      default:
        throw protocolError(`unknown message type "${type.slice(0, 40)}"`)
    }
  }

  async #push(
    id: RequestId,
    message: Readonly<Record<string, unknown>>,
    size: number,
    log: LogFields,
  ): Promise<string> {
    const { endpoint, limits } = this.#settings
    // The frame's bytes count against the server's body budget (shared with HTTP pushes) until the
    // push was answered: the parsed events live that long.
    const lease = endpoint.bodyBudget.open()
    this.#leases.add(lease)
    try {
      await lease.take(size)
      if (exceedsDepth(message, EVENT_JSON_MAX_DEPTH + 3)) {
        throw protocolError(`the message nests deeper than ${EVENT_JSON_MAX_DEPTH} levels`)
      }
      const { events, ifEpoch } = message
      if (!Array.isArray(events)) throw protocolError('a push carries "events": [event, ...]')
      log.events = events.length
      if (
        ifEpoch !== undefined &&
        (typeof ifEpoch !== 'string' || ifEpoch === '' || ifEpoch.length > 1024)
      ) {
        throw invalid('ifEpoch', 'must be a non-empty string of at most 1024 characters')
      }
      const checked = endpoint.server.checkPush(events, {
        tenant: this.#tenant,
        parse: parseWireEvent,
        bodyLimitBytes: limits.maxMessageBytes,
      })
      let pushed
      try {
        pushed = await endpoint.server.push(checked, { ifEpoch })
      } catch (error) {
        endpoint.recordWrite(error)
        throw error
      }
      // Only a push that wrote tells that the store can write (duplicates write nothing).
      if (pushed.stored > 0) endpoint.recordWrite()
      log.stored = pushed.stored
      log.duplicates = pushed.duplicates
      return result(id, {
        stored: pushed.stored,
        duplicates: pushed.duplicates,
        epoch: pushed.epoch,
        latestVersion: pushed.latestVersion.toString(),
      })
    } finally {
      lease.release()
      this.#leases.delete(lease)
    }
  }

  #since(value: unknown): Version | null {
    if (value === undefined || value === null || value === '') return null
    if (typeof value !== 'string' || value.length > 1024)
      throw invalid('since', 'must be a version string')
    return this.#settings.endpoint.server.parseVersion(value)
  }

  /** Sends a frame, or closes the socket with 1013 when its send buffer is over the bound. */
  #send(text: string): void {
    if (this.#state === 'closed') return
    // In bytes of UTF-8, as the socket counts its buffer (a text of multi-byte characters takes
    // up to three times its length).
    if (
      this.#socket.bufferedAmount > 0 &&
      this.#socket.bufferedAmount + Buffer.byteLength(text) > this.#settings.maxBufferedBytes
    ) {
      this.close(
        WS_CLOSE.slowConsumer,
        'send buffer full: read faster, then resume from your cursor',
      )
      return
    }
    this.lastSent = this.#settings.endpoint.now()
    this.#socket.send(text)
  }

  #refuse(id: RequestId | undefined, error: unknown, started?: number, type?: string): void {
    const wire = toWireError(error, SERVER)
    this.#send(
      JSON.stringify(
        id === undefined ? { type: 'error', ...wire } : { type: 'error', id, ...wire },
      ),
    )
    this.#log(
      {
        level: wire.error.code === 'internal' ? 'error' : 'warn',
        code: wire.error.code,
        message:
          wire.error.code === 'internal' && error instanceof Error
            ? error.message
            : wire.error.message,
      },
      type,
      started,
    )
  }

  /**
   * Writes a log record: the socket's (`GET`, the upgrade's path, `stream` open or closed), or
   * one request's (method `WS-<TYPE>`, e.g. `WS-PUSH`).
   */
  #log(entry: LogFields, type?: string, started?: number): void {
    const request =
      type === undefined || !/^[a-z]{1,20}$/.test(type)
        ? this.#request
        : new Request(this.#request.url, { method: `WS-${type.toUpperCase()}` })
    this.#settings.endpoint.log(request, started ?? this.#started, {
      status: 101,
      ...(this.#tenant === undefined ? {} : { tenant: this.#tenant }),
      ...entry,
    })
  }
}
