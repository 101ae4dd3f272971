// Key pairs: SSH public keys per user (generated or imported), counted against the key_pairs
// quota of the caller's project, delivered to servers on their config drive.
import type { RequestContext } from '../platform/auth/context.ts';
import { NotFoundError, OverQuotaError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { Quotas } from './quotas.ts';
import type { KeypairCreateBody } from './schemas.ts';
import { fingerprint, generateKeypair } from './ssh-keys.ts';
import type { KeypairRow } from './tables.ts';


export class Keypairs {
  constructor(
    private readonly core: ComputeCore,
    private readonly quotas: Quotas,
  ) {}

  /** Whose key pairs a request names: the caller's, or (admins, 2.10) another user's. */
  owner(ctx: RequestContext, userId: string | undefined): string {
    if (userId === undefined || userId === ctx.userId) return ctx.userId;
    this.core.enforce(ctx, 'admin');
    return userId;
  }

  async list(ctx: RequestContext, userId?: string): Promise<KeypairRow[]> {
    this.core.enforce(ctx, 'keypairs:index');
    return this.core.store.keypairs(this.owner(ctx, userId));
  }

  async create(ctx: RequestContext, body: KeypairCreateBody): Promise<{ row: KeypairRow; privateKey?: string }> {
    this.core.enforce(ctx, 'keypairs:create');
    const k = body.keypair;
    const owner = this.owner(ctx, k.user_id);
    const quota = (await this.quotas.of(this.core.projectOf(ctx))).key_pairs!;
    if (quota >= 0 && (await this.core.store.keypairCount(owner)) >= quota) {
      throw new OverQuotaError('Quota exceeded, too many key pairs.', 'key_pairs');
    }
    let publicKey: string;
    let privateKey: string | undefined;
    if (k.public_key !== undefined) {
      publicKey = k.public_key.trim();
    } else {
      ({ publicKey, privateKey } = generateKeypair(`Generated-by-hafen`));
    }
    const row: KeypairRow = { user_id: owner, name: k.name, public_key: publicKey, fingerprint: fingerprint(publicKey), type: k.type ?? 'ssh', created_at: new Date().toISOString() };
    await this.core.store.insertKeypair(row);
    return { row, ...(privateKey ? { privateKey } : {}) };
  }

  async get(ctx: RequestContext, name: string, userId?: string): Promise<KeypairRow> {
    this.core.enforce(ctx, 'keypairs:show');
    const owner = this.owner(ctx, userId);
    const k = await this.core.store.keypair(owner, name);
    if (!k) throw new NotFoundError(`Keypair ${name} not found for user ${owner}`);
    return k;
  }

  async delete(ctx: RequestContext, name: string, userId?: string): Promise<void> {
    this.core.enforce(ctx, 'keypairs:delete');
    const owner = this.owner(ctx, userId);
    if (!(await this.core.store.deleteKeypair(owner, name))) throw new NotFoundError(`Keypair ${name} not found for user ${owner}`);
  }
}
