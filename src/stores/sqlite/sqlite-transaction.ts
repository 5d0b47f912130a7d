import type { SqliteDatabase, SqliteStatement } from './sqlite-types.js'

/**
 * Runs functions in one SQLite transaction each, with statements prepared once.
 *
 * Outside a transaction it uses `BEGIN IMMEDIATE`, which takes the write lock up front: in WAL
 * mode a deferred transaction that reads first and writes later fails at once with
 * `SQLITE_BUSY_SNAPSHOT` when another connection wrote meanwhile, without waiting for the busy
 * timeout. Inside a transaction the caller opened on the same connection it uses a savepoint, so
 * the work still commits or rolls back as one unit within the caller's transaction.
 */
export class SqliteTransactions {
  readonly #db: SqliteDatabase
  readonly #begin: SqliteStatement
  readonly #commit: SqliteStatement
  readonly #rollback: SqliteStatement
  readonly #savepoint: SqliteStatement
  readonly #release: SqliteStatement
  readonly #rollbackTo: SqliteStatement

  /**
   * Prepares the transaction statements.
   * @param db - the connection.
   */
  constructor(db: SqliteDatabase) {
    this.#db = db
    this.#begin = db.prepare('BEGIN IMMEDIATE')
    this.#commit = db.prepare('COMMIT')
    this.#rollback = db.prepare('ROLLBACK')
    this.#savepoint = db.prepare('SAVEPOINT sync_kit')
    this.#release = db.prepare('RELEASE sync_kit')
    this.#rollbackTo = db.prepare('ROLLBACK TO sync_kit')
  }

  /**
   * Runs `fn` in a transaction: commits when it returns, rolls back when it throws.
   * @param fn - the work; must be synchronous.
   * @returns what `fn` returned.
   * @throws whatever `fn`, `BEGIN` or `COMMIT` threw, after rolling back.
   */
  run<T>(fn: () => T): T {
    if (this.#db.inTransaction) return this.#runInSavepoint(fn)
    this.#begin.run()
    try {
      const result = fn()
      this.#commit.run()
      return result
    } catch (error) {
      // Some errors (e.g. SQLITE_FULL) already rolled the transaction back; a ROLLBACK then fails.
      if (this.#db.inTransaction) this.#rollback.run()
      throw error
    }
  }

  #runInSavepoint<T>(fn: () => T): T {
    this.#savepoint.run()
    try {
      const result = fn()
      this.#release.run()
      return result
    } catch (error) {
      if (this.#db.inTransaction) {
        this.#rollbackTo.run()
        this.#release.run()
      }
      throw error
    }
  }
}
