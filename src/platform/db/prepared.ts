// Queries built and compiled once and run many times with new values. Kysely builds and compiles a
// statement on every call, which costs as much as running it on SQLite; a hot path keeps the SQL.
import type { Compilable, CompiledQuery, QueryResult, Transaction } from 'kysely';
import type { Database } from './database.ts';

/** What a prepared query's builder is given for each value: a stand-in, replaced when it runs. */
export type Slot<Args> = <K extends keyof Args & string>(name: K) => Args[K];

const MARK = '\u0000hafen-slot:';

/**
 * A query whose SQL is fixed and whose values come from `args` by name. `build` is called once, with
 * stand-ins for the values (every slot must end up as a parameter of the SQL, not be inlined).
 * Runs on the database given, or inside a transaction given (`trx`), with the same results as the
 * query Kysely would build.
 */
export class PreparedQuery<Args extends Record<string, unknown>, Row> {
  private readonly compiled: CompiledQuery<Row>;
  /** Where each parameter's value comes from: an argument's name, or a constant of the SQL. */
  private readonly sources: ({ arg: string } | { constant: unknown })[];

  constructor(
    private readonly database: Database,
    build: (slot: Slot<Args>) => Compilable<Row>,
  ) {
    const used = new Set<string>();
    this.compiled = build(((name: string) => {
      used.add(name);
      return `${MARK}${name}`;
    }) as Slot<Args>).compile();
    this.sources = this.compiled.parameters.map((p) => (typeof p === 'string' && p.startsWith(MARK) ? { arg: p.slice(MARK.length) } : { constant: p }));
    for (const name of used) {
      if (!this.sources.some((s) => 'arg' in s && s.arg === name)) throw new Error(`prepared query: the value ${name} is not a parameter of ${this.compiled.sql}`);
    }
  }

  /** Runs the query with these values; answers Kysely's result (rows, affected rows). */
  execute(args: Args, trx?: Transaction<any>): Promise<QueryResult<Row>> {
    const parameters = this.sources.map((s) => ('arg' in s ? args[s.arg] : s.constant));
    const query: CompiledQuery<Row> = { ...this.compiled, parameters };
    // SQLite: run on the connection itself when the caller's transaction holds it or none does.
    const now = this.database.runNow?.(query, trx !== undefined);
    if (now) return Promise.resolve(now);
    return (trx ?? this.database.db).executeQuery(query);
  }

  async rows(args: Args, trx?: Transaction<any>): Promise<Row[]> {
    return (await this.execute(args, trx)).rows;
  }

  async first(args: Args, trx?: Transaction<any>): Promise<Row | undefined> {
    return (await this.execute(args, trx)).rows[0];
  }

  /** The rows an INSERT, UPDATE or DELETE changed. */
  async affected(args: Args, trx?: Transaction<any>): Promise<number> {
    return Number((await this.execute(args, trx)).numAffectedRows ?? 0n);
  }
}

/** Prepared queries of one shape each, made on first use (an UPDATE's set of columns, say). */
export class PreparedQueries<Args extends Record<string, unknown>, Row> {
  private readonly byShape = new Map<string, PreparedQuery<Args, Row>>();
  /** Shapes kept at most: beyond, a query is built each time (shapes come from code, not requests). */
  private static readonly MAX_SHAPES = 64;

  constructor(private readonly database: Database) {}

  of(shape: string, build: (slot: Slot<Args>) => Compilable<Row>): PreparedQuery<Args, Row> {
    let q = this.byShape.get(shape);
    if (!q) {
      q = new PreparedQuery(this.database, build);
      if (this.byShape.size < PreparedQueries.MAX_SHAPES) this.byShape.set(shape, q);
    }
    return q;
  }
}
