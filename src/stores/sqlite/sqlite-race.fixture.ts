// A connection whose write lock another connection races (test helper, not shipped).
import Database from 'better-sqlite3'

/**
 * Opens `path` on a connection whose `BEGIN IMMEDIATE` runs `race` first — e.g. another
 * connection's synchronous commit, which then lands between a batch's first plan and its write
 * lock — until `race` says it ran.
 * @param path - the database file.
 * @param race - called before each `BEGIN IMMEDIATE` until it returns true.
 * @returns the connection (close it when done).
 */
export function racingDatabase(path: string, race: () => boolean): Database.Database {
  const raw = new Database(path)
  let raced = false
  return new Proxy(raw, {
    get(target, key) {
      if (key !== 'prepare') {
        const value: unknown = Reflect.get(target, key, target)
        return typeof value === 'function' ? value.bind(target) : value
      }
      return (source: string) => {
        const statement = target.prepare(source)
        if (source !== 'BEGIN IMMEDIATE') return statement
        return new Proxy(statement, {
          get(s, name) {
            if (name !== 'run') {
              const value: unknown = Reflect.get(s, name, s)
              return typeof value === 'function' ? value.bind(s) : value
            }
            return () => {
              if (!raced) raced = race()
              return s.run()
            }
          },
        })
      }
    },
  })
}
