import { describe, expect, it } from 'vitest'

import { LoadUsageError, parseLoadArgs } from './load-options.js'

describe('npm run load options', () => {
  it('takes the required flags and fills in the defaults', () => {
    expect(parseLoadArgs(['--clients', '100', '--rate', '5', '--duration', '60'])).toMatchObject({
      clients: 100,
      rate: 5,
      durationS: 60,
      aggregates: 10,
      serverInstances: 1,
      store: 'sqlite',
      settleTimeoutS: 15,
      drainTimeoutS: 0,
    })
    const options = parseLoadArgs(['--clients', '5', '--rate', '0.5', '--duration', '3'])
    expect(options).toMatchObject({ rate: 0.5, workers: 1 })
    expect(options).not.toHaveProperty('json')
  })

  it('takes every optional flag', () => {
    expect(
      parseLoadArgs([
        ...['--clients', '12', '--rate', '2', '--duration', '1.5', '--aggregates', '3'],
        ...[
          '--workers',
          '4',
          '--settle-timeout',
          '30',
          '--drain-timeout',
          '0',
          '--server-instances',
          '3',
        ],
        ...['--store', 'postgres', '--json', 'out.json'],
      ]),
    ).toEqual({
      clients: 12,
      rate: 2,
      durationS: 1.5,
      aggregates: 3,
      workers: 4,
      serverInstances: 3,
      store: 'postgres',
      settleTimeoutS: 30,
      drainTimeoutS: 0,
      json: 'out.json',
    })
    expect(parseLoadArgs(['--help'])).toBe('help')
  })

  it.each([
    [['--rate', '5', '--duration', '60'], /--clients is required/],
    [['--clients', '0', '--rate', '5', '--duration', '60'], /--clients must be an integer/],
    [['--clients', '5', '--rate', '0', '--duration', '60'], /--rate must be a number above 0/],
    [['--clients', '5', '--rate', '1', '--duration', '1', '--store', 'mysql'], /--store must be/],
    [['--clients', '5', '--rate', '1', '--duration', '1', '--workers', '6'], /--workers must be/],
    [['--clients', '5', '--rate', '1', '--duration', '1', '--bogus'], /bogus/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseLoadArgs(argv)).toThrow(LoadUsageError)
    expect(() => parseLoadArgs(argv)).toThrow(message)
  })
})
