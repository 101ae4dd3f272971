// Writes of concurrent callers grouped into one transaction, so one commit: on SQLite a commit
// writes its pages to the WAL, a cost a hundred builds ending in the same turn can share.
import type { Kysely, Transaction } from 'kysely';

interface Waiting<Item, Result> {
  item: Item;
  resolve: (r: Result) => void;
  reject: (err: unknown) => void;
}

/**
 * Collects the writes asked for within one turn of the event loop and runs them, in the order asked,
 * in one transaction at the next turn. Each caller's promise settles once the commit holding its
 * write is done (so nothing is answered before it is durable). A group whose transaction fails is
 * run again one write a transaction, so that one write's error is its caller's alone.
 */
export class WriteGroup<Item, Result> {
  private pending: Waiting<Item, Result>[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<any>,
    private readonly write: (trx: Transaction<any>, item: Item) => Promise<Result>,
    /** The most writes one transaction holds; more wait for the next. */
    private readonly maxWrites = 200,
    /** Takes back what a write did besides the database when its transaction rolled back. */
    private readonly rolledBack: (item: Item) => void = () => undefined,
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const group = this.pending.splice(0, this.maxWrites);
    if (this.pending.length) setImmediate(() => void this.flush());
    else this.scheduled = false;
    let results: Result[];
    try {
      results = await this.db.transaction().execute(async (trx) => {
        const out: Result[] = [];
        for (const w of group) out.push(await this.write(trx, w.item));
        return out;
      });
    } catch {
      for (const w of group) this.rolledBack(w.item);
      for (const w of group) {
        await this.db
          .transaction()
          .execute((trx) => this.write(trx, w.item))
          .then(w.resolve, (err: unknown) => {
            this.rolledBack(w.item);
            w.reject(err);
          });
      }
      return;
    }
    for (const [i, w] of group.entries()) w.resolve(results[i]!);
  }
}
