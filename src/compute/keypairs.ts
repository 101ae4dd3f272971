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

  async list(ctx: RequestContext): Promise<KeypairRow[]> {
    this.core.enforce(ctx, 'keypairs:index');
    return this.core.store.keypairs(ctx.userId);
  }

  async create(ctx: RequestContext, body: KeypairCreateBody): Promise<{ row: KeypairRow; privateKey?: string }> {
    this.core.enforce(ctx, 'keypairs:create');
    const k = body.keypair;
    const quota = (await this.quotas.of(this.core.projectOf(ctx))).key_pairs!;
    if (quota >= 0 && (await this.core.store.keypairCount(ctx.userId)) >= quota) {
      throw new OverQuotaError('Quota exceeded, too many key pairs.', 'key_pairs');
    }
    let publicKey: string;
    let privateKey: string | undefined;
    if (k.public_key !== undefined) {
      publicKey = k.public_key.trim();
    } else {
      ({ publicKey, privateKey } = generateKeypair(`Generated-by-hafen`));
    }
    const row: KeypairRow = { user_id: ctx.userId, name: k.name, public_key: publicKey, fingerprint: fingerprint(publicKey), type: 'ssh', created_at: new Date().toISOString() };
    await this.core.store.insertKeypair(row);
    return { row, ...(privateKey ? { privateKey } : {}) };
  }

  async get(ctx: RequestContext, name: string): Promise<KeypairRow> {
    this.core.enforce(ctx, 'keypairs:show');
    const k = await this.core.store.keypair(ctx.userId, name);
    if (!k) throw new NotFoundError(`Keypair ${name} not found for user ${ctx.userId}`);
    return k;
  }

  async delete(ctx: RequestContext, name: string): Promise<void> {
    this.core.enforce(ctx, 'keypairs:delete');
    if (!(await this.core.store.deleteKeypair(ctx.userId, name))) throw new NotFoundError(`Keypair ${name} not found for user ${ctx.userId}`);
  }
}
