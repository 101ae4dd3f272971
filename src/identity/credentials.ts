// Keystone credentials (/v3/credentials) and the EC2 view of them (/v3/users/{u}/credentials/OS-EC2):
// a user's secrets of some type, kept encrypted; an ec2 credential's id is the SHA-256 of its access key.
import { createHash, randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import type { CredentialCipher } from './credential-keys.ts';
import type { IdentityService } from './service.ts';
import { newId, type CredentialRow } from './store.ts';

export interface CredentialInput {
  blob?: string;
  type?: string;
  user_id?: string;
  project_id?: string | null;
}

export interface Ec2Blob {
  access: string;
  secret: string;
  trust_id?: string | null;
}

const ec2Id = (access: string) => createHash('sha256').update(access).digest('hex');

export class Credentials {
  constructor(private readonly identity: IdentityService, private readonly cipher: CredentialCipher) {}

  private get store() {
    return this.identity.store;
  }

  blobOf(row: CredentialRow): string {
    return this.cipher.decrypt(row.blob);
  }

  async create(ctx: RequestContext, input: Required<Pick<CredentialInput, 'blob' | 'type' | 'user_id'>> & CredentialInput): Promise<CredentialRow> {
    this.identity.enforce(ctx, 'create_credential', { credential: { user_id: input.user_id } });
    await this.identity.user(input.user_id);
    if (input.project_id) await this.identity.project(input.project_id);
    let id = newId();
    if (input.type === 'ec2') {
      const blob = parseEc2(input.blob);
      if (!input.project_id) throw new BadRequestError('Invalid input for field \'credential.project_id\': an ec2 credential needs a project.');
      id = ec2Id(blob.access);
    }
    const row: CredentialRow = {
      id,
      user_id: input.user_id,
      project_id: input.project_id ?? null,
      type: input.type,
      blob: this.cipher.encrypt(input.blob),
      created_at: this.store.timestamp(),
    };
    return this.store.insert('identity_credentials', row, 'credential');
  }

  /** Someone else's credential answers like a missing one. */
  async get(ctx: RequestContext, id: string): Promise<CredentialRow> {
    const row = await this.store.get<CredentialRow>('identity_credentials', id);
    if (!row || !this.identity.authorize(ctx, 'get_credential', { target: { credential: { user_id: row.user_id } } })) {
      throw new NotFoundError(`Could not find credential: ${id}.`);
    }
    return row;
  }

  /** An admin sees every credential; anyone else only their own. */
  async list(ctx: RequestContext, filter: { user_id?: string; type?: string }): Promise<CredentialRow[]> {
    const all = this.identity.authorize(ctx, 'list_credentials');
    const userId = all ? filter.user_id : ctx.userId;
    if (!all && filter.user_id && filter.user_id !== ctx.userId) return [];
    return this.store.list<CredentialRow>('identity_credentials', { user_id: userId, type: filter.type }, 'id');
  }

  async update(ctx: RequestContext, id: string, input: CredentialInput): Promise<CredentialRow> {
    const row = await this.get(ctx, id);
    this.identity.enforce(ctx, 'update_credential', { target: { credential: { user_id: row.user_id } } });
    if (input.user_id !== undefined && input.user_id !== row.user_id) {
      this.identity.enforce(ctx, 'update_credential', { target: { credential: { user_id: input.user_id } } });
      await this.identity.user(input.user_id);
    }
    if (input.project_id) await this.identity.project(input.project_id);
    const type = input.type ?? row.type;
    const blob = input.blob ?? this.blobOf(row);
    if (type === 'ec2') {
      const parsed = parseEc2(blob);
      if (ec2Id(parsed.access) !== row.id) throw new BadRequestError('Invalid input for field \'credential.blob\': the access key of an ec2 credential is its id and cannot change.');
      if (!(input.project_id ?? row.project_id)) throw new BadRequestError('Invalid input for field \'credential.project_id\': an ec2 credential needs a project.');
    }
    await this.store.update(
      'identity_credentials',
      id,
      {
        type,
        blob: this.cipher.encrypt(blob),
        ...(input.user_id !== undefined ? { user_id: input.user_id } : {}),
        ...(input.project_id !== undefined ? { project_id: input.project_id } : {}),
      },
      'credential',
    );
    return (await this.store.get<CredentialRow>('identity_credentials', id))!;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const row = await this.get(ctx, id);
    this.identity.enforce(ctx, 'delete_credential', { target: { credential: { user_id: row.user_id } } });
    await this.store.remove('identity_credentials', id);
  }

  // ---- OS-EC2

  async createEc2(ctx: RequestContext, userId: string, projectId: string): Promise<{ row: CredentialRow; blob: Ec2Blob }> {
    this.identity.enforce(ctx, 'ec2_create_credential', { user_id: userId });
    await this.identity.user(userId);
    await this.identity.project(projectId);
    // The user must hold a role on the project the credential is for.
    const project = await this.identity.project(projectId);
    const roles = await this.identity.tokens.effectiveRoles(userId, { kind: 'project', id: project.id, name: project.name, domainId: project.domain_id, domainName: '' });
    if (roles.length === 0) throw new ForbiddenError(`User ${userId} has no role on project ${projectId}.`);
    const blob: Ec2Blob = { access: randomUUID().replace(/-/g, ''), secret: randomUUID().replace(/-/g, ''), trust_id: ctx.trust?.id ?? null };
    const row: CredentialRow = {
      id: ec2Id(blob.access),
      user_id: userId,
      project_id: projectId,
      type: 'ec2',
      blob: this.cipher.encrypt(JSON.stringify(blob)),
      created_at: this.store.timestamp(),
    };
    await this.store.insert('identity_credentials', row, 'credential').catch((err) => {
      throw err instanceof ConflictError ? new ConflictError('An ec2 credential with this access key exists.') : err;
    });
    return { row, blob };
  }

  async listEc2(ctx: RequestContext, userId: string): Promise<{ row: CredentialRow; blob: Ec2Blob }[]> {
    this.identity.enforce(ctx, 'ec2_list_credentials', { user_id: userId });
    await this.identity.user(userId);
    const rows = await this.store.list<CredentialRow>('identity_credentials', { user_id: userId, type: 'ec2' }, 'id');
    return rows.map((row) => ({ row, blob: parseEc2(this.blobOf(row)) }));
  }

  async getEc2(ctx: RequestContext, userId: string, access: string): Promise<{ row: CredentialRow; blob: Ec2Blob }> {
    const row = await this.store.get<CredentialRow>('identity_credentials', ec2Id(access));
    if (!row || row.type !== 'ec2' || row.user_id !== userId || !this.identity.authorize(ctx, 'ec2_get_credential', { user_id: userId })) {
      throw new NotFoundError(`Could not find credential: ${access}.`);
    }
    return { row, blob: parseEc2(this.blobOf(row)) };
  }

  async deleteEc2(ctx: RequestContext, userId: string, access: string): Promise<void> {
    const { row } = await this.getEc2(ctx, userId, access);
    this.identity.enforce(ctx, 'ec2_delete_credential', { user_id: userId });
    await this.store.remove('identity_credentials', row.id);
  }
}

function parseEc2(blob: string): Ec2Blob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(blob);
  } catch {
    throw new BadRequestError("Invalid input for field 'credential.blob': an ec2 blob is a JSON object.");
  }
  const b = parsed as Partial<Ec2Blob>;
  if (!b || typeof b !== 'object' || typeof b.access !== 'string' || b.access === '') {
    throw new BadRequestError("Invalid input for field 'credential.blob': an ec2 blob needs an access key.");
  }
  return { access: b.access, secret: typeof b.secret === 'string' ? b.secret : '', trust_id: b.trust_id ?? null };
}
