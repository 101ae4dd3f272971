// Cluster templates: records, as in Magnum. Create and PATCH check every attribute and the OpenStack
// resources they name (image, flavors, networks) for the caller; templates clusters use may only be
// renamed, published or hidden, and are never deleted from under them.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { BadRequestError, ConflictError, ForbiddenError } from '../platform/errors.ts';
import { COES, TEMPLATE_ATTRIBUTES, TEMPLATE_NON_REMOVABLE, TEMPLATE_READ_ONLY, checkAttribute, generatedName, invalidInputMissing, isUuid, readAttributes } from './attributes.ts';
import type { ClusterClients } from './clients.ts';
import { ClusterTemplateNotFound, PolicyNotAuthorized } from './errors.ts';
import { applyPatch, parsePatch } from './json-patch.ts';
import type { ClusterStore, Page, TemplateRow } from './store.ts';

/** Per COE: the network and volume drivers Magnum supports, and the default network driver. */
const COE_DRIVERS: Record<string, { network: string[]; defaultNetwork: string; volume: string[] }> = {
  kubernetes: { network: ['flannel', 'calico'], defaultNetwork: 'flannel', volume: ['cinder'] },
  swarm: { network: ['docker', 'flannel'], defaultNetwork: 'docker', volume: ['rexray'] },
  'swarm-mode': { network: ['docker', 'flannel'], defaultNetwork: 'docker', volume: ['rexray'] },
};

const DEFAULTS: Record<string, unknown> = {
  registry_enabled: false,
  tls_disabled: false,
  public: false,
  server_type: 'vm',
  master_lb_enabled: false,
  floating_ip_enabled: true,
  hidden: false,
  labels: {},
};

/** The template as a flat document of its wire attributes (what PATCH applies to and views show). */
export function templateDocument(row: TemplateRow): Record<string, unknown> {
  const attrs = JSON.parse(row.attrs) as Record<string, unknown>;
  const doc: Record<string, unknown> = {};
  for (const k of Object.keys(TEMPLATE_ATTRIBUTES)) doc[k] = attrs[k] ?? null;
  return { ...doc, uuid: row.uuid, name: row.name, coe: row.coe, image_id: row.image_id, public: row.public === 1, hidden: row.hidden === 1 };
}

export class TemplateService {
  constructor(
    private readonly store: ClusterStore,
    private readonly policy: PolicyEngine,
    private readonly clients: ClusterClients,
  ) {}

  enforce(ctx: RequestContext, action: string, target: Record<string, unknown> = {}): void {
    if (!this.policy.authorize(`container-infra:${action}`, ctx, target)) throw new PolicyNotAuthorized(action);
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.policy.authorize('container-infra:admin', ctx);
  }

  private projectOf(ctx: RequestContext): string {
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Magnum requires a project-scoped token.');
    return ctx.scope.projectId;
  }

  /** Whether the caller sees the template: its own, public and not hidden, or (admins) any. */
  visible(ctx: RequestContext, row: TemplateRow): boolean {
    if (this.isAdmin(ctx)) return true;
    const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
    return row.project_id === project || (row.public === 1 && row.hidden === 0);
  }

  /** A template by uuid or name, as the caller sees it; 404 otherwise, 409 for an ambiguous name. */
  async find(ctx: RequestContext, ident: string): Promise<TemplateRow> {
    if (isUuid(ident)) {
      const row = await this.store.template(ident.toLowerCase());
      if (row && this.visible(ctx, row)) return row;
      throw new ClusterTemplateNotFound(ident);
    }
    const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
    const rows = (await this.store.templatesNamed(ident, project, this.isAdmin(ctx))).filter((r) => this.visible(ctx, r));
    if (rows.length > 1) throw new ConflictError('Multiple ClusterTemplates exist with same name. Please use the ClusterTemplate uuid instead.');
    if (!rows[0]) throw new ClusterTemplateNotFound(ident);
    return rows[0];
  }

  async list(ctx: RequestContext, page: Page): Promise<TemplateRow[]> {
    this.enforce(ctx, 'clustertemplate:get');
    const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
    const rows = await this.store.templates(project, this.isAdmin(ctx), page);
    return rows.filter((r) => this.visible(ctx, r));
  }

  async show(ctx: RequestContext, ident: string): Promise<TemplateRow> {
    this.enforce(ctx, 'clustertemplate:get');
    return this.find(ctx, ident);
  }

  async create(ctx: RequestContext, body: unknown): Promise<TemplateRow> {
    this.enforce(ctx, 'clustertemplate:create');
    const project = this.projectOf(ctx);
    const given = readAttributes(body, TEMPLATE_ATTRIBUTES, TEMPLATE_READ_ONLY, 'cluster_template');
    if (given.coe === undefined || given.coe === null) throw invalidInputMissing('coe');
    if (given.image_id === undefined || given.image_id === null) throw invalidInputMissing('image_id');
    const doc: Record<string, unknown> = { ...DEFAULTS };
    for (const [k, v] of Object.entries(given)) if (v !== null) doc[k] = v;
    this.checkDrivers(doc, given.network_driver === undefined || given.network_driver === null);
    const image = await this.checkResources(ctx, doc);
    doc.cluster_distro = image.properties.os_distro ?? (typeof doc.cluster_distro === 'string' ? doc.cluster_distro : null);
    if (doc.public === true || doc.hidden === true) {
      if (!this.policy.authorize('container-infra:clustertemplate:publish', ctx)) throw new ForbiddenError('Not authorized to set public or hidden flag for cluster template.');
    }
    const now = new Date().toISOString();
    const uuid = typeof doc.uuid === 'string' ? doc.uuid : randomUUID();
    const name = typeof doc.name === 'string' ? doc.name : generatedName('template');
    const row: TemplateRow = {
      uuid,
      project_id: project,
      user_id: ctx.userId,
      name,
      coe: doc.coe as string,
      image_id: doc.image_id as string,
      public: doc.public ? 1 : 0,
      hidden: doc.hidden ? 1 : 0,
      attrs: JSON.stringify(attrsOf(doc)),
      created_at: now,
      updated_at: null,
    };
    await this.store.insertTemplate(row);
    return row;
  }

  async update(ctx: RequestContext, ident: string, body: unknown): Promise<TemplateRow> {
    const ops = parsePatch(body, TEMPLATE_NON_REMOVABLE);
    const row = await this.find(ctx, ident);
    this.assertOwner(ctx, row, 'clustertemplate:update');
    const before = templateDocument(row);
    const patched = applyPatch(before, ops);
    if (patched.uuid !== before.uuid) throw new BadRequestError('Cannot overwrite UUID for an existing ClusterTemplate.');
    // Every attribute is checked again, as Magnum rebuilds the object from the patched document.
    const doc: Record<string, unknown> = {};
    for (const [k, kind] of Object.entries(TEMPLATE_ATTRIBUTES)) doc[k] = checkAttribute(kind, k, patched[k] ?? null);
    if (doc.coe === null) throw invalidInputMissing('coe');
    if (doc.image_id === null) throw invalidInputMissing('image_id');
    if (!doc.name) throw invalidInputMissing('name');
    for (const k of ['public', 'hidden', 'registry_enabled', 'tls_disabled', 'master_lb_enabled']) doc[k] ??= false;
    doc.floating_ip_enabled ??= true;
    doc.server_type ??= 'vm';
    doc.labels ??= {};
    this.checkDrivers(doc, false);
    const changed = Object.keys(doc).filter((k) => JSON.stringify(doc[k]) !== JSON.stringify(before[k]));
    if (changed.length === 0) return row;
    if (changed.some((k) => !['name', 'public', 'hidden', 'tags'].includes(k)) || changed.includes('image_id')) await this.checkResources(ctx, doc);
    if ((changed.includes('public') || changed.includes('hidden')) && !this.policy.authorize('container-infra:clustertemplate:publish', ctx)) {
      throw new ForbiddenError('Not authorized to set public or hidden flag for cluster template.');
    }
    if (await this.store.templateInUse(row.uuid)) {
      const publishing = changed.length === 1 && (changed[0] === 'hidden' || changed[0] === 'tags' || (changed[0] === 'public' && doc.public === true));
      if (!publishing && !(changed.length === 1 && changed[0] === 'name')) throw new BadRequestError(`ClusterTemplate ${ident} is referenced by one or multiple clusters.`);
    }
    const fields: Partial<TemplateRow> = {
      name: doc.name as string,
      coe: doc.coe as string,
      image_id: doc.image_id as string,
      public: doc.public ? 1 : 0,
      hidden: doc.hidden ? 1 : 0,
      attrs: JSON.stringify(attrsOf(doc)),
      updated_at: new Date().toISOString(),
    };
    await this.store.updateTemplate(row.uuid, fields);
    return { ...row, ...fields };
  }

  async delete(ctx: RequestContext, ident: string): Promise<void> {
    const row = await this.find(ctx, ident);
    this.assertOwner(ctx, row, 'clustertemplate:delete');
    if (await this.store.templateInUse(row.uuid)) throw new BadRequestError(`ClusterTemplate ${ident} is referenced by one or multiple clusters.`);
    await this.store.deleteTemplate(row.uuid);
  }

  /** Changes are the owning project's (or an admin's): a public template of another project is read-only. */
  private assertOwner(ctx: RequestContext, row: TemplateRow, action: string): void {
    this.enforce(ctx, action);
    if (this.isAdmin(ctx)) return;
    if (ctx.scope.kind !== 'project' || ctx.scope.projectId !== row.project_id) throw new PolicyNotAuthorized(action);
  }

  /** COE, server type, network and volume drivers and storage size, as Magnum's validators check them. */
  private checkDrivers(doc: Record<string, unknown>, defaultNetwork: boolean): void {
    const coe = doc.coe as string;
    const distro = (doc.cluster_distro as string | null) ?? 'None';
    const drivers = COE_DRIVERS[coe];
    if (!drivers) {
      if (COES.includes(coe)) throw new BadRequestError(`Cluster type (${String(doc.server_type ?? 'vm')}, ${distro}, ${coe}) not supported.`);
      throw new BadRequestError(`Requested COE type ${coe} is not supported.`);
    }
    if (defaultNetwork || doc.network_driver === null || doc.network_driver === undefined) doc.network_driver = drivers.defaultNetwork;
    if (!drivers.network.includes(doc.network_driver as string)) {
      throw new BadRequestError(`Network driver type ${String(doc.network_driver)} is not supported, expecting a ${[...drivers.network, 'unspecified'].join('/')} network driver.`);
    }
    if (doc.volume_driver !== null && doc.volume_driver !== undefined && !drivers.volume.includes(doc.volume_driver as string)) {
      throw new BadRequestError(`Volume driver type ${String(doc.volume_driver)} is not supported, expecting a ${[...drivers.volume, 'unspecified'].join('/')} volume driver.`);
    }
    const size = doc.docker_volume_size as number | null | undefined;
    if (doc.docker_storage_driver === 'devicemapper' && (!size || size < 3)) {
      throw new BadRequestError(`docker volume size ${size ?? 'None'} GB is not valid, expecting minimum value 3GB for devicemapper storage driver.`);
    }
  }

  /** The image, flavors and networks the template names, as the caller sees them. */
  private async checkResources(ctx: RequestContext, doc: Record<string, unknown>) {
    const images = await this.clients.images.find(ctx, doc.image_id as string);
    if (images.length > 1) throw new ConflictError(`Multiple images exist with same name '${String(doc.image_id)}'. Please use the image ID instead.`);
    const image = images[0];
    if (!image) throw new BadRequestError(`Image ${String(doc.image_id)} could not be found.`);
    for (const k of ['flavor_id', 'master_flavor_id']) {
      if (typeof doc[k] !== 'string') continue;
      if ((await this.clients.flavors.find(ctx, doc[k] as string)).length === 0) throw new BadRequestError(`Unable to find flavor ${String(doc[k])}.`);
    }
    await checkNetworks(ctx, this.clients, doc);
    return image;
  }
}

/** external_network_id, fixed_network and fixed_subnet: by name or id, unknown 400, ambiguous 409. */
export async function checkNetworks(ctx: RequestContext, clients: ClusterClients, doc: Record<string, unknown>): Promise<{ fixedNetworkId?: string; fixedSubnetId?: string; externalNetworkId?: string }> {
  const out: { fixedNetworkId?: string; fixedSubnetId?: string; externalNetworkId?: string } = {};
  const wants = ['external_network_id', 'fixed_network', 'fixed_subnet'].some((k) => typeof doc[k] === 'string');
  if (!wants) return out;
  const networks = await clients.networks.networks(ctx);
  if (typeof doc.external_network_id === 'string') {
    const hits = networks.filter((n) => n.external && (n.id === doc.external_network_id || n.name === doc.external_network_id));
    if (hits.length === 0) throw new BadRequestError(`Unable to find external network ${doc.external_network_id}.`);
    if (hits.length > 1) throw new ConflictError(`Multiple external networks exist with same name '${doc.external_network_id}'. Please use the external network ID instead.`);
    out.externalNetworkId = hits[0]!.id;
  }
  if (typeof doc.fixed_network === 'string') {
    const hits = networks.filter((n) => n.id === doc.fixed_network || n.name === doc.fixed_network);
    if (hits.length === 0) throw new BadRequestError(`Unable to find fixed network ${doc.fixed_network}.`);
    if (hits.length > 1) throw new ConflictError(`Multiple networks exist with same name '${doc.fixed_network}'. Please use the network ID instead.`);
    out.fixedNetworkId = hits[0]!.id;
  }
  if (typeof doc.fixed_subnet === 'string') {
    const subnets = await clients.networks.subnets(ctx);
    const hits = subnets.filter((n) => n.id === doc.fixed_subnet || n.name === doc.fixed_subnet);
    if (hits.length === 0) throw new BadRequestError(`Unable to find fixed subnet ${doc.fixed_subnet}.`);
    if (hits.length > 1) throw new ConflictError(`Multiple subnets exist with same name '${doc.fixed_subnet}'. Please use the subnet ID instead.`);
    out.fixedSubnetId = hits[0]!.id;
  }
  return out;
}

/** What goes into the attrs column: every attribute but those with columns of their own. */
function attrsOf(doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(TEMPLATE_ATTRIBUTES)) {
    if (['uuid', 'name', 'coe', 'image_id', 'public', 'hidden'].includes(k)) continue;
    out[k] = doc[k] ?? null;
  }
  return out;
}
