// What every concern of the network service shares: the store, the policy, the address allocator and
// the change events; tenancy (who sees and changes what), revision compare-and-swap, quota checks, and
// the conversions Neutron applies to its inputs (booleans given as strings, integers as strings).
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { requireProject, type RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { ForbiddenError } from '../platform/errors.ts';
import { InvalidInput, NeutronConflict, NeutronNotFound, NeutronOverQuota, PreconditionFailed } from './errors.ts';
import type { AddressAllocator } from './ipam.ts';
import type { NetworkStore, ResourceKind, RowOf, Scope } from './store/index.ts';

export const DEFAULT_QUOTAS: Record<string, number> = {
  network: 100,
  subnet: 100,
  subnetpool: -1,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
};

export const KIND_LABEL: Record<ResourceKind, string> = {
  network: 'Network',
  subnet: 'Subnet',
  port: 'Port',
  security_group: 'SecurityGroup',
  security_group_rule: 'SecurityGroupRule',
  router: 'Router',
  floatingip: 'FloatingIP',
  subnetpool: 'SubnetPool',
  port_forwarding: 'PortForwarding',
};

/** Options of an update or delete: Neutron's `If-Match: revision_number=N` (412 on a mismatch). */
export interface WriteOptions {
  ifMatch?: number;
}

/**
 * Events: 'firewall' (port ids whose own firewall inputs changed: groups, addresses, port security,
 * binding), 'groups' (security group ids whose rules or members changed: every port whose rules name
 * them as remote group, and their members), 'floatingip' (a floating IP or port forwarding changed),
 * 'port-deleted'.
 */
export class NetworkCore {
  readonly events = new EventEmitter();

  constructor(
    readonly store: NetworkStore,
    readonly policy: PolicyEngine,
    readonly ipam: AddressAllocator,
    /** Where projects' "default" networks take their /24s (config.defaultNetworkRange). */
    readonly defaultNetworkRange = '10.96.0.0/12',
  ) {
    this.events.setMaxListeners(50);
  }

  /** Whether the caller passes a rule of the network policy (src/network/policy.ts). */
  may(ctx: RequestContext, rule: string): boolean {
    return this.policy.authorize(`network:${rule}`, ctx);
  }

  enforce(ctx: RequestContext, rule: string, what: string): void {
    if (!this.may(ctx, rule)) throw new ForbiddenError(`(${what}) is disallowed by policy`);
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.may(ctx, 'context_is_admin');
  }

  /** What the caller's lists and look-ups cover: every project for admins, else its own (and shared). */
  scope(ctx: RequestContext): Scope {
    if (this.may(ctx, 'get:any_project')) return { all: true };
    return { projectId: requireProject(ctx) };
  }

  /** The project a new resource belongs to: the caller's, or another named one (admins). */
  ownerFor(ctx: RequestContext, body: { project_id?: unknown; tenant_id?: unknown }): string {
    const asked = (body.project_id ?? body.tenant_id) as string | undefined;
    const own = requireProject(ctx);
    if (asked && asked !== own) {
      this.enforce(ctx, 'create:any_project', 'rule:create and project_id');
      return asked;
    }
    return own;
  }

  /** A row the caller may see, or Neutron's NotFound (another project's looks like an unknown id). */
  async find<K extends ResourceKind>(ctx: RequestContext, kind: K, id: string): Promise<RowOf[K]> {
    const row = await this.store.get(kind, id);
    if (!row || !(await this.visible(ctx, kind, row))) throw new NeutronNotFound(KIND_LABEL[kind], id);
    return row;
  }

  async visible<K extends ResourceKind>(ctx: RequestContext, kind: K, row: RowOf[K]): Promise<boolean> {
    const scope = this.scope(ctx);
    if ('all' in scope || row.project_id === scope.projectId) return true;
    if (kind === 'network') return Boolean((row as RowOf['network']).shared || (row as RowOf['network']).external);
    if (kind === 'subnetpool') return Boolean((row as RowOf['subnetpool']).shared);
    if (kind === 'subnet') {
      const net = await this.store.get('network', (row as RowOf['subnet']).network_id);
      return Boolean(net && (net.shared || net.external));
    }
    return false;
  }

  /** A row the caller may change: its project's, or any for admins (403 for a shared one it only sees). */
  async findOwned<K extends ResourceKind>(ctx: RequestContext, kind: K, id: string): Promise<RowOf[K]> {
    const row = await this.find(ctx, kind, id);
    if (!this.may(ctx, 'update:any_project') && row.project_id !== requireProject(ctx)) {
      throw new ForbiddenError(`The request you have made requires authentication or you are not permitted to modify ${kind} ${id}.`);
    }
    return row;
  }

  /**
   * Writes changes to a row read at `row.revision_number`, as compare-and-swap: a concurrent writer
   * makes this one fail with 409 (as Neutron's revision check does); `ifMatch` that is not the row's
   * revision answers 412.
   */
  async save<K extends ResourceKind>(store: NetworkStore, kind: K, row: RowOf[K], changes: Partial<RowOf[K]>, options: WriteOptions = {}): Promise<RowOf[K]> {
    checkIfMatch(kind, row.revision_number, options);
    const at = now();
    if (!(await store.update(kind, row.id, row.revision_number, changes, at))) {
      throw new NeutronConflict('Conflict', `${KIND_LABEL[kind]} ${row.id} was changed by another request meanwhile; retry.`);
    }
    return { ...row, ...changes, revision_number: row.revision_number + 1, updated_at: at };
  }

  async quotaOf(projectId: string, store: NetworkStore = this.store): Promise<Record<string, number>> {
    return { ...DEFAULT_QUOTAS, ...(await store.quotaOverrides(projectId)) };
  }

  /** Inside a transaction: refuses the creation of `count` more resources beyond the project's limit. */
  async checkQuota(tx: NetworkStore, kind: ResourceKind, projectId: string, count = 1): Promise<void> {
    await this.checkQuotaLimit(tx, kind, projectId, (await this.quotaOf(projectId, tx))[kind] ?? -1, count);
  }

  /** checkQuota with the project's limit read already (a port's creation reads it with the network). */
  async checkQuotaLimit(tx: NetworkStore, kind: ResourceKind, projectId: string, limit: number, count = 1): Promise<void> {
    if (limit < 0) return;
    await tx.lockQuota(projectId, kind);
    if ((await tx.count(kind, projectId)) + count > limit) throw new NeutronOverQuota(kind);
  }
}

export function checkIfMatch(kind: ResourceKind, revision: number, options: WriteOptions): void {
  if (options.ifMatch !== undefined && options.ifMatch !== revision) {
    throw new PreconditionFailed(`Revision number mismatch: ${KIND_LABEL[kind]} is at revision ${revision}, the request expected ${options.ifMatch}.`);
  }
}

export const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The attributes every new resource starts with (Neutron's standard attributes): a new id, the project, name and description, revision 0, now. */
export function standardAttributes(project: string, body: { name?: string; description?: string }) {
  const t = now();
  return { id: randomUUID(), project_id: project, name: body.name ?? '', description: body.description ?? '', revision_number: 0, created_at: t, updated_at: t, seq: 0 };
}

/** Random bytes for MAC addresses, drawn from a pool: a call into the kernel per port showed in profiles. */
const macPool = { bytes: Buffer.alloc(0), at: 0 };
const hex = (b: number) => b.toString(16).padStart(2, '0');
export function newMac(): string {
  if (macPool.at + 3 > macPool.bytes.length) {
    macPool.bytes = randomBytes(3 * 1024);
    macPool.at = 0;
  }
  const b = macPool.bytes;
  const i = (macPool.at += 3) - 3;
  return `fa:16:3e:${hex(b[i]!)}:${hex(b[i + 1]!)}:${hex(b[i + 2]!)}`;
}

/** Neutron's convert_to_boolean: booleans, 'true'/'false' in any case, '1'/'0', 1/0. */
export function toBool(v: unknown, name: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  throw new InvalidInput(`'${String(v)}' cannot be converted to boolean for ${name}.`);
}

export const bit = (v: boolean): number => (v ? 1 : 0);

/** Neutron's convert_to_int for fields given as numbers or numeric strings. */
export function toInt(v: unknown, name: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new InvalidInput(`'${String(v)}' is not an integer for ${name}.`);
  return n;
}

export const parseJson = <T>(text: string): T => JSON.parse(text) as T;
