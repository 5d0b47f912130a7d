import { describe, expect, it } from 'vitest'

import { SyncKitError } from '../errors/sync-kit-error.js'
import { createCliLog, errorFields } from './json-log.js'

const FIXED = { now: () => Date.UTC(2025, 0, 2, 3, 4, 5, 6) }

function capture(level?: 'info' | 'warn' | 'error') {
  const out: string[] = []
  const err: string[] = []
  const log = createCliLog({
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
    clock: FIXED,
    ...(level === undefined ? {} : { level }),
  })
  return { log, out, err }
}

describe('createCliLog', () => {
  it('writes one JSON object per line, level/time/msg first; info on stdout, warn and error on stderr', () => {
    const { log, out, err } = capture()
    log.info('listening', { url: 'http://127.0.0.1:8787', skipped: undefined })
    log.warn('requests cut off', { count: 2 })
    log.error('start failed', { code: 'unavailable' })
    expect(out).toEqual([
      '{"level":"info","time":"2025-01-02T03:04:05.006Z","msg":"listening","url":"http://127.0.0.1:8787"}',
    ])
    expect(err.map((line) => JSON.parse(line) as unknown)).toEqual([
      { level: 'warn', time: '2025-01-02T03:04:05.006Z', msg: 'requests cut off', count: 2 },
      {
        level: 'error',
        time: '2025-01-02T03:04:05.006Z',
        msg: 'start failed',
        code: 'unavailable',
      },
    ])
  })

  it('drops records below the configured level', () => {
    const warn = capture('warn')
    warn.log.info('hidden')
    warn.log.warn('shown')
    warn.log.error('shown too')
    expect(warn.out).toEqual([])
    expect(warn.err).toHaveLength(2)

    const error = capture('error')
    error.log.warn('hidden')
    error.log.error('shown')
    expect(error.err.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['shown'])
  })

  it('writes handler records as msg "request" at their own level and time, method/path/status first', () => {
    const { log, out, err } = capture()
    log.request({
      level: 'info',
      time: '2025-01-01T00:00:00.000Z',
      stored: 3,
      method: 'POST',
      path: '/v1/events',
      status: 200,
      ms: 4,
    })
    log.request({
      level: 'warn',
      time: '2025-01-01T00:00:01.000Z',
      method: 'GET',
      path: '/v1/nope',
      status: 404,
      ms: 0,
      code: 'protocol',
    })
    expect(out).toEqual([
      '{"level":"info","time":"2025-01-01T00:00:00.000Z","msg":"request","method":"POST","path":"/v1/events","status":200,"ms":4,"stored":3}',
    ])
    expect(JSON.parse(err[0] ?? '')).toMatchObject({ level: 'warn', status: 404, code: 'protocol' })
  })

  it('never throws on fields JSON cannot serialise', () => {
    const { log, err } = capture()
    const cycle: Record<string, unknown> = {}
    cycle['self'] = cycle
    log.error('odd', { cycle, big: 1n })
    expect(JSON.parse(err[0] ?? '')).toEqual({
      level: 'error',
      time: '2025-01-02T03:04:05.006Z',
      msg: 'odd',
      note: 'the fields of this record could not be serialised',
    })
  })
})

describe('errorFields', () => {
  it('gives code and message of a sync-kit error, plus the stack of anything else', () => {
    expect(errorFields(new SyncKitError('unavailable', 'port taken', {}))).toEqual({
      code: 'unavailable',
      message: '[sync-kit] port taken',
    })
    const bug = new TypeError('x is undefined')
    expect(errorFields(bug)).toEqual({
      code: 'internal',
      message: 'x is undefined',
      stack: bug.stack,
    })
    expect(errorFields('plain')).toEqual({ code: 'internal', message: 'plain' })
  })
})
