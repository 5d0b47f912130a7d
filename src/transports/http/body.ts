import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import { concatBytes } from './bytes.js'

/** Limits applied while a request body streams in. */
export interface BodyLimits {
  /** Most bytes accepted on the wire (compressed size when gzip). */
  readonly maxBodyBytes: number
  /** Most bytes accepted after gzip decompression. */
  readonly maxDecompressedBytes: number
  /**
   * Called with the size of each (decompressed) chunk before it is kept: the server's global body
   * budget (`BodyLease.take`), which may make the read wait, or refuse it.
   * @defaultValue none
   */
  readonly take?: ((bytes: number) => Promise<void> | undefined) | undefined
}

/** A request body read by {@link readJsonBody}. */
export interface JsonBody {
  /** The parsed JSON value. */
  readonly value: unknown
  /** UTF-8 bytes of the JSON text, after gzip decompression. */
  readonly bytes: number
}

const COMPONENT = '[sync-kit] [http-server]'

function tooLarge(limitBytes: number, what: string): SyncKitError<'payload-too-large'> {
  return new SyncKitError(
    'payload-too-large',
    `${COMPONENT} the ${what} is larger than ${limitBytes} bytes; push fewer events per request`,
    { limitBytes },
  )
}

function badRequest(message: string, status = 400, cause?: unknown): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${COMPONENT} ${message}`, { status }, { cause })
}

/**
 * Checks that a request declares a JSON body the server can read: `Content-Type:
 * application/json` (charset UTF-8 if named) and `Content-Encoding` absent, `identity` or `gzip`.
 * @param headers - the request headers.
 * @returns whether the body is gzip-compressed.
 * @throws SyncKitError `protocol` with status 415 otherwise.
 */
export function checkBodyHeaders(headers: Headers): { readonly gzip: boolean } {
  const type = headers.get('content-type')
  if (type === null) {
    throw badRequest('the request has no Content-Type; send "application/json"', 415)
  }
  const [essence = '', ...params] = type.split(';').map((part) => part.trim().toLowerCase())
  if (essence !== 'application/json') {
    throw badRequest(
      `unsupported Content-Type "${type.slice(0, 100)}"; send "application/json"`,
      415,
    )
  }
  for (const param of params) {
    const [name, value = ''] = param.split('=').map((part) => part.trim())
    if (name === 'charset' && value.replace(/^"|"$/g, '') !== 'utf-8') {
      throw badRequest(`unsupported charset "${value.slice(0, 40)}"; send UTF-8 JSON`, 415)
    }
  }
  const encoding = (headers.get('content-encoding') ?? '').trim().toLowerCase()
  if (encoding === '' || encoding === 'identity') return { gzip: false }
  if (encoding === 'gzip' || encoding === 'x-gzip') return { gzip: true }
  throw badRequest(
    `unsupported Content-Encoding "${encoding.slice(0, 40)}"; send the body as-is or with gzip`,
    415,
  )
}

/**
 * Reads a JSON request body, enforcing the limits while the bytes arrive: a declared
 * `Content-Length` over the limit is refused before reading, an undeclared or lying one is cut off
 * as soon as the count passes the limit (the stream is cancelled). A gzip body is decompressed
 * with `DecompressionStream` and its decompressed size counted too, so a gzip bomb is stopped
 * after `maxDecompressedBytes`, not after inflating it all.
 * @param request - the request.
 * @param limits - the byte limits.
 * @returns the parsed JSON value, and the size of the (decompressed) text it was parsed from.
 * @throws SyncKitError `payload-too-large` over a limit; `protocol` (400/415) for a missing,
 * non-JSON, non-UTF-8 or corrupt-gzip body (408 when the server's adapter cut a body that stopped
 * arriving); `unavailable` when the body budget (`limits.take`) refused it; `aborted` when the
 * client went away.
 */
export async function readJsonBody(request: Request, limits: BodyLimits): Promise<JsonBody> {
  const { gzip } = checkBodyHeaders(request.headers)
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    if (!/^\s*\d{1,16}\s*$/.test(declared)) throw badRequest('invalid Content-Length header')
    if (Number(declared) > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes, 'request body')
  }
  const body = request.body
  if (body === null) throw badRequest('the request has no body; send {"events": [...]}')

  let wireOverLimit = false
  let wireBytes = 0
  // Without gzip the wire bytes are the bytes `collect` counts: no counting stream in between.
  const source = !gzip
    ? body
    : body
        .pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              if (!(chunk instanceof Uint8Array)) {
                controller.error(badRequest('the request body is not a byte stream'))
                return
              }
              wireBytes += chunk.byteLength
              if (wireBytes > limits.maxBodyBytes) {
                wireOverLimit = true
                controller.error(tooLarge(limits.maxBodyBytes, 'request body'))
                return
              }
              controller.enqueue(chunk)
            },
          }),
        )
        .pipeThrough(new DecompressionStream('gzip') as TransformStream<Uint8Array, Uint8Array>)
  const limit = gzip ? limits.maxDecompressedBytes : limits.maxBodyBytes
  let bytes: Uint8Array
  try {
    bytes = await collect(
      source,
      limit,
      gzip ? 'decompressed request body' : 'request body',
      limits.take,
    )
  } catch (error) {
    if (wireOverLimit) throw tooLarge(limits.maxBodyBytes, 'request body')
    if (isSyncKitError(error)) throw error
    if (request.signal.aborted) {
      throw new SyncKitError('aborted', `${COMPONENT} the client went away`, {}, { cause: error })
    }
    throw gzip
      ? badRequest('the request body is not valid gzip', 400, error)
      : badRequest('the request body could not be read', 400, error)
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (error) {
    throw badRequest('the request body is not valid UTF-8', 400, error)
  }
  try {
    return { value: JSON.parse(text) as unknown, bytes: bytes.byteLength }
  } catch (error) {
    const reason = error instanceof Error ? `: ${error.message.slice(0, 200)}` : ''
    throw badRequest(`the request body is not valid JSON${reason}`, 400, error)
  }
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  what: string,
  take: BodyLimits['take'],
): Promise<Uint8Array> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (!(value instanceof Uint8Array)) {
      reader.cancel().catch(() => undefined)
      throw badRequest('the request body is not a byte stream')
    }
    total += value.byteLength
    if (total > limit) {
      // Stop inflating/reading right away: the rest is never pulled from the client.
      reader.cancel().catch(() => undefined)
      throw tooLarge(limit, what)
    }
    const wait = take?.(value.byteLength)
    if (wait !== undefined) {
      try {
        // Nothing more is read meanwhile: the socket pauses, TCP holds the client back.
        await wait
      } catch (error) {
        reader.cancel().catch(() => undefined)
        throw error
      }
    }
    chunks.push(value)
  }
  return concatBytes(chunks, total)
}
