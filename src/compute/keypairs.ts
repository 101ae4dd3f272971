// Key pairs: SSH public keys per user (generated or imported), counted against the key_pairs
// quota of the caller's project, delivered to servers on their config drive.
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError, OverQuotaError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { Quotas } from './quotas.ts';
import { fingerprint, generateKeypair } from './ssh-keys.ts';
import type { KeypairRow } from './tables.ts';

type Body = Record<string, unknown>;

export class Keypairs {
  constructor(
    private readonly core: ComputeCore,
    private readonly quotas: Quotas,
  ) {}

  async list(ctx: RequestContext): Promise<KeypairRow[]> {
    this.core.enforce(ctx, 'keypairs:index');
    return this.core.store.keypairs(ctx.userId);
  }

  async create(ctx: RequestContext, body: Body): Promise<{ row: KeypairRow; privateKey?: string }> {
    this.core.enforce(ctx, 'keypairs:create');
    const k = (body.keypair ?? {}) as Body;
    const name = k.name;
    if (typeof name !== 'string' || !/^[\w .@-]{1,255}$/.test(name)) {
      throw new BadRequestError("Invalid input for field/attribute name. Keypair name must be 1-255 characters of letters, digits, spaces, '.', '_', '-', '@'.");
    }
    const quota = (await this.quotas.of(this.core.projectOf(ctx))).key_pairs!;
    if (quota >= 0 && (await this.core.store.keypairCount(ctx.userId)) >= quota) {
      throw new OverQuotaError('Quota exceeded, too many key pairs.', 'key_pairs');
    }
    let publicKey: string;
    let privateKey: string | undefined;
    if (k.public_key !== undefined) {
      if (typeof k.public_key !== 'string') throw new BadRequestError('Keypair data is invalid: public_key must be a string');
      publicKey = k.public_key.trim();
    } else {
      ({ publicKey, privateKey } = generateKeypair(`Generated-by-hafen`));
    }
    const row: KeypairRow = { user_id: ctx.userId, name, public_key: publicKey, fingerprint: fingerprint(publicKey), type: 'ssh', created_at: new Date().toISOString() };
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
