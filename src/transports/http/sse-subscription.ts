import { createParser } from 'eventsource-parser'
import type { EventSourceMessage } from 'eventsource-parser'
import * as v from 'valibot'
import { ResumingSubscription } from '../../core/resuming-subscription.js'
import type {
  ConnectionOutcome,
  ResumingSubscriptionConfig,
} from '../../core/resuming-subscription.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { Clock, Event, EventWithVersion, Version } from '../../types/index.js'
import { CLIENT, parseErrorBody } from './http-request.js'
import { errorFromResponse, isTransientStatus } from './protocol.js'
import type { WireErrorBody } from './protocol.js'
import { parseRetryAfter } from './retry.js'
import {
  errorBodySchema,
  eventWithVersionSchema,
  helloSchema,
  isPlainEventWithVersion,
} from './schemas.js'

/** Largest single stream message the client buffers: 32 MiB. */
const MAX_SSE_MESSAGE_CHARS = 32 * 1024 * 1024

/** What one live subscription needs from the transport. */
export interface SubscriptionConfig extends Omit<ResumingSubscriptionConfig, 'client'> {
  readonly connect: (cursor: string | undefined, signal: AbortSignal) => Promise<Response>
  readonly clock: Clock
  readonly timeoutMs: number
  readonly streamIdleTimeoutMs: number
  readonly onEnd: (subscription: SseSubscription) => void
}

/**
 * One live subscription of the HTTP client over Server-Sent Events: connects, reads the event
 * stream, delivers batches, and reconnects with backoff from the last delivered cursor
 * (`Last-Event-ID`), after a drop, a server's graceful end or a stream silent for
 * `streamIdleTimeoutMs` (no heartbeat). The loop, its retries and the resume are the shared
 * {@link ResumingSubscription}'s: bounded by `retry.retries` before the first hello, unbounded
 * (reported to `onError`) afterwards.
 */
export class SseSubscription extends ResumingSubscription {
  private readonly config: SubscriptionConfig

  /**
   * Starts connecting at once; `started` tells when the stream is established.
   * @param config - what the transport hands over: handler, cursor, connect, policy, timers.
   */
  constructor(config: SubscriptionConfig) {
    super({ ...config, client: CLIENT })
    this.config = config
    this.begin(() => config.onEnd(this))
  }

  /** One connection, from fetch to the end of its stream. */
  protected async connection(): Promise<ConnectionOutcome> {
    const { timers } = this.config
    const controller = new AbortController()
    // Cancelling the reader as well as aborting the fetch: not every fetch ends a body's pending
    // read on abort, and a stuck read would keep a dead connection (or unsubscribe) waiting.
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
    const cut = (): void => {
      controller.abort()
      reader?.cancel().catch(() => undefined)
    }
    this.stop.signal.addEventListener('abort', cut, { once: true })
    let idleTimer: unknown
    let timedOut = false
    const arm = (ms: number): void => {
      timers.clearTimeout(idleTimer)
      idleTimer = timers.setTimeout(() => {
        timedOut = true
        cut()
      }, ms)
    }
    arm(this.config.timeoutMs)
    // The idle clock runs only while reading: a handler that holds reading back (the read-ahead
    // is full) is no silent server, and timing out then would reconnect, report the stream lost
    // and send a slow app into a reconnect storm. Re-armed when reading goes on.
    const deliver = (batch: readonly EventWithVersion[]): Promise<boolean> => {
      timers.clearTimeout(idleTimer)
      return this.deliver(batch)
    }
    let saidHello = false
    const transientNetwork = (error: unknown): ConnectionOutcome => {
      if (isSyncKitError(error) && !error.transient) return { kind: 'fatal', error }
      if (isSyncKitError(error)) return { kind: 'transient', error, retryAfterMs: undefined }
      const message = timedOut
        ? saidHello
          ? `the stream was silent for ${this.config.streamIdleTimeoutMs} ms (no heartbeat); reconnecting`
          : `no hello within ${this.config.timeoutMs} ms`
        : `the connection failed (${error instanceof Error ? error.message : String(error)}); reconnecting`
      const wrapped = timedOut
        ? new SyncKitError(
            'timeout',
            `${CLIENT} subscribe: ${message}`,
            { timeoutMs: saidHello ? this.config.streamIdleTimeoutMs : this.config.timeoutMs },
            { cause: error },
          )
        : new SyncKitError('unavailable', `${CLIENT} subscribe: ${message}`, {}, { cause: error })
      return { kind: 'transient', error: wrapped, retryAfterMs: undefined }
    }
    try {
      let response: Response
      try {
        response = await this.config.connect(this.cursor, controller.signal)
      } catch (error) {
        if (this.stop.signal.aborted) return { kind: 'healthy-end' }
        return transientNetwork(error)
      }
      if (!response.ok) {
        const text = await response.text().catch(() => '')
        const error = errorFromResponse(response.status, parseErrorBody(text), 'subscribe')
        if (!isTransientStatus(response.status)) return { kind: 'fatal', error }
        return {
          kind: 'transient',
          error,
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.config.clock),
        }
      }
      const type = response.headers.get('content-type') ?? ''
      if (!type.toLowerCase().startsWith('text/event-stream') || response.body === null) {
        await response.body?.cancel().catch(() => undefined)
        return {
          kind: 'fatal',
          error: new SyncKitError(
            'protocol',
            `${CLIENT} subscribe: the server answered with "${type.slice(0, 60)}", not an event stream; is the url a sync-kit server?`,
            { status: response.status },
          ),
        }
      }
      const body = response.body.getReader()
      reader = body
      if (this.stop.signal.aborted || timedOut) cut()
      const decoder = new TextDecoder()
      let messages: EventSourceMessage[] = []
      let parseProblem: unknown
      const parser = createParser({
        onEvent: (message) => messages.push(message),
        onError: (error) => {
          if (error.type === 'max-buffer-size-exceeded') parseProblem = error
        },
        maxBufferSize: MAX_SSE_MESSAGE_CHARS,
      })
      try {
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>
          try {
            chunk = await body.read()
          } catch (error) {
            if (this.stop.signal.aborted) return { kind: 'healthy-end' }
            return transientNetwork(error)
          }
          if (this.stop.signal.aborted) return { kind: 'healthy-end' }
          if (timedOut) return transientNetwork(new Error('idle'))
          if (chunk.done) {
            // The server ended the stream (e.g. a graceful shutdown): reconnect from the cursor.
            return saidHello
              ? { kind: 'healthy-end' }
              : transientNetwork(new Error('the stream ended before the hello message'))
          }
          parser.feed(decoder.decode(chunk.value, { stream: true }))
          if (parseProblem !== undefined) {
            return {
              kind: 'fatal',
              error: new SyncKitError(
                'protocol',
                `${CLIENT} subscribe: a stream message exceeds ${MAX_SSE_MESSAGE_CHARS} characters`,
                {},
                { cause: parseProblem },
              ),
            }
          }
          const batch: EventWithVersion[] = []
          let batchVersion: Version | undefined
          const current = messages
          messages = []
          for (const message of current) {
            if (message.event === 'hello') {
              const hello = parseJson(message.data, helloSchema, 'hello')
              const refused = this.accept(hello.epoch, hello.cursor, hello.latestVersion)
              if (refused !== undefined) return refused
              saidHello = true
            } else if (message.event === 'event') {
              if (!saidHello) throw protocolProblem('an event arrived before the hello message')
              const item = parseJson(
                message.data,
                eventWithVersionSchema,
                'event',
                isPlainEventWithVersion,
              )
              if (message.id !== item.version) {
                throw protocolProblem(
                  `message id "${String(message.id).slice(0, 64)}" differs from the event's version`,
                )
              }
              const version = this.config.toVersion(item.version)
              const after = batchVersion ?? this.readPosition
              // Strictly after the cursor only: a replay by a proxy never delivers twice.
              if (after !== undefined && version.compare(after) <= 0) continue
              batch.push({ event: item.event as Event, version })
              batchVersion = version
            } else if (message.event === 'error') {
              const body = parseJson(message.data, errorBodySchema, 'error')
              const error = errorFromWireCode(body)
              // Deliver what came before the error, then reconnect or stop.
              if (batch.length > 0 && !(await deliver(batch))) {
                return { kind: 'healthy-end' }
              }
              return error.transient
                ? { kind: 'transient', error, retryAfterMs: undefined }
                : { kind: 'fatal', error }
            }
            // Other event names are ignored: newer servers may add some.
          }
          if (batch.length > 0 && !(await deliver(batch))) {
            return { kind: 'healthy-end' }
          }
          if (saidHello) arm(this.config.streamIdleTimeoutMs)
        }
      } finally {
        body.cancel().catch(() => undefined)
      }
    } catch (error) {
      return { kind: 'fatal', error }
    } finally {
      timers.clearTimeout(idleTimer)
      this.stop.signal.removeEventListener('abort', cut)
    }
  }
}

function protocolProblem(message: string): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${CLIENT} subscribe: ${message}`, {})
}

function parseJson<TOutput>(
  data: string,
  schema: v.GenericSchema<unknown, TOutput>,
  what: string,
  plain?: (value: unknown) => value is TOutput,
): TOutput {
  let parsed: unknown
  try {
    parsed = JSON.parse(data) as unknown
  } catch (error) {
    throw new SyncKitError(
      'protocol',
      `${CLIENT} subscribe: the ${what} message is not JSON`,
      {},
      { cause: error },
    )
  }
  // What the schema surely takes as it is needs no copy of it.
  if (plain?.(parsed)) return parsed
  const result = v.safeParse(schema, parsed)
  if (!result.success) throw protocolProblem(`the ${what} message has an unexpected shape`)
  return result.output
}

const STATUS_OF_WIRE_CODE: Readonly<Record<string, number>> = {
  unauthorized: 401,
  forbidden: 403,
  unavailable: 503,
  timeout: 503,
  internal: 500,
}

function errorFromWireCode(body: WireErrorBody): SyncKitError {
  return errorFromResponse(STATUS_OF_WIRE_CODE[body.error.code] ?? 400, body, 'subscribe')
}
