// Orchestration's rules: stacks per project (names unique in a project, invisible to others),
// validation before anything is made, and the operations the API asks the engine for.
import { randomUUID } from 'node:crypto';
import { internalContext, type RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, isNotFound } from '../platform/errors.ts';
import type { Clients } from './clients.ts';
import type { OrchestrationStore, StackRow } from './store.ts';
import { buildModel, validateProperties, type StackModel, type StackSpec } from './engine/model.ts';
import { callerActor, specColumns, specOf, StackEngine } from './engine/stack-engine.ts';
import { mergeEnvironments, parseEnvironment, type Environment } from './template/environment.ts';
import { TemplateError } from './template/model.ts';
import { parseDocument } from './template/parse.ts';
import { checkPatterns } from './template/patterns.ts';
import type { CustomCheck } from './template/parameters.ts';
import { composeToTemplate, isComposeDocument } from './compose.ts';
import { assertLoopbackUrl } from '../platform/http/loopback-url.ts';
import { MAX_TEMPLATE_BYTES } from './template/model.ts';

/**
 * template_url: fetched from loopback only and never from the cloud's own ports (API, agent
 * endpoint, engines, database), without following redirects, within a time limit, and read only up
 * to the template size limit (a larger body is cut off, not read whole first).
 */
async function fetchTemplate(raw: string, refusedPorts: ReadonlySet<number>): Promise<string> {
  const url = assertLoopbackUrl(raw, refusedPorts);
  const tooBig = (size: number | string) => new TemplateError(`Template size (${size} bytes) exceeds maximum allowed size (${MAX_TEMPLATE_BYTES} bytes).`);
  const signal = AbortSignal.timeout(10_000);
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'error', signal });
  } catch (err) {
    throw new TemplateError(`Could not retrieve template from ${raw}: ${(err as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new TemplateError(`Could not retrieve template from ${raw}: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > MAX_TEMPLATE_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw tooBig(declared);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  try {
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_TEMPLATE_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw tooBig(`more than ${MAX_TEMPLATE_BYTES}`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    throw new TemplateError(`Could not retrieve template from ${raw}: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type Body = Record<string, unknown>;

const NEUTRON_NAMES = { network: 'Network', subnet: 'Subnet', port: 'Port', security_group: 'Security Group', router: 'Router' } as const;

const STACK_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$/;
/**
 * A stack's delegation may be delegated once more (Heat's allow_trusts_redelegation, one level): an
 * OS::Magnum::Cluster's service makes the cluster's own stack through it, whose delegation then goes
 * no further.
 */
const STACK_DELEGATION = { redelegation: 1 };

export class OrchestrationService {
  constructor(
    readonly store: OrchestrationStore,
    readonly engine: StackEngine,
    private readonly policy: PolicyEngine,
    private readonly clients: Clients,
    private readonly region: string,
    /** Ports template_url may not name: the cloud's own. */
    private readonly refusedPorts: ReadonlySet<number> = new Set(),
  ) {}

  enforce(ctx: RequestContext, action: string): void {
    this.policy.enforce(`orchestration:${action}`, ctx, {});
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.policy.authorize('orchestration:admin', ctx);
  }

  project(ctx: RequestContext, tenant: string): string {
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Orchestration requires a project-scoped token.');
    if (tenant !== ctx.scope.projectId && !this.isAdmin(ctx)) throw new NotFoundError(`The project ${tenant} could not be found.`);
    return ctx.scope.projectId;
  }

  // ---- lookup

  async find(ctx: RequestContext, tenant: string, nameOrId: string, id?: string): Promise<StackRow> {
    const project = this.project(ctx, tenant);
    const row = (id ? await this.store.stack(id) : undefined) ?? (await this.store.stack(nameOrId)) ?? (await this.store.stackByName(project, nameOrId));
    const visible = row && (row.project_id === project || (this.isAdmin(ctx) && tenant === row.project_id));
    if (!row || !visible || (id && row.id !== id) || (id && row.name !== nameOrId && row.id !== nameOrId)) throw new NotFoundError(`The Stack (${id ? `${nameOrId}/${id}` : nameOrId}) could not be found.`);
    return row;
  }

  /** A stack by id for another service that keeps its id (clusters follow their stacks); no policy: it reads state only. */
  async peek(id: string): Promise<StackRow | undefined> {
    return this.store.stack(id);
  }

  /**
   * Deletes a stack that another service owns the lifecycle of (a cluster's) when no caller is there
   * to act (a delete resumed after a restart). It acts through the delegation the stack still holds
   * (an operation cut short by the restart); with none, no one's rights remain to act with and the
   * delete fails (DELETE_FAILED) until a user asks again.
   */
  async deleteOwned(id: string): Promise<void> {
    const stack = await this.store.stack(id);
    if (!stack) return;
    const fields: Partial<StackRow> = { action: 'DELETE', status: 'IN_PROGRESS', status_reason: 'Stack DELETE started' };
    Object.assign(stack, fields);
    await this.store.updateStack(stack.id, fields);
    this.engine.delete(stack);
  }

  /**
   * Runs again, as an update to the template it holds, a create or update of a stack that another
   * service owns the lifecycle of (a cluster's) and that a restart cut short: failed resources are
   * made anew, finished ones kept. It acts through the delegation the interrupted operation left on
   * the stack; false when there is none (nothing to act with) or the stack is busy or settled otherwise.
   */
  async retryOwned(id: string): Promise<boolean> {
    const stack = await this.store.stack(id);
    if (!stack || !stack.trust_id || this.engine.isBusy(id) || stack.status !== 'FAILED' || (stack.action !== 'CREATE' && stack.action !== 'UPDATE')) return false;
    const current = specOf(stack);
    const previous = stack.previous ? (JSON.parse(stack.previous) as StackSpec) : current;
    const fields: Partial<StackRow> = { previous: JSON.stringify(previous), action: 'UPDATE', status: 'IN_PROGRESS', status_reason: 'Stack UPDATE started', updated_at: new Date().toISOString() };
    Object.assign(stack, fields);
    await this.store.updateStack(stack.id, fields);
    this.engine.update(stack, previous);
    return true;
  }

  async list(ctx: RequestContext, tenant: string, q: Record<string, string | string[]>): Promise<StackRow[]> {
    this.enforce(ctx, 'stacks:index');
    const project = this.project(ctx, tenant);
    const global = this.isAdmin(ctx) && String(q.global_tenant ?? '').toLowerCase() === 'true';
    const nested = String(q.show_nested ?? '').toLowerCase() === 'true';
    let rows = await this.store.stacks({ ...(global ? {} : { projectId: project }), nested });
    const many = (k: string) => (q[k] === undefined ? undefined : (Array.isArray(q[k]) ? q[k] : [q[k]]).flatMap((v) => String(v).split(',')));
    const names = many('name');
    if (names) rows = rows.filter((r) => names.includes(r.name));
    const statuses = many('status');
    if (statuses) rows = rows.filter((r) => statuses.includes(r.status) || statuses.includes(`${r.action}_${r.status}`));
    const actions = many('action');
    if (actions) rows = rows.filter((r) => actions.includes(r.action));
    const tagsOf = (r: StackRow) => (r.tags ? (JSON.parse(r.tags) as string[]) : []);
    const tags = many('tags');
    if (tags) rows = rows.filter((r) => tags.every((t) => tagsOf(r).includes(t)));
    const anyTags = many('tags_any');
    if (anyTags) rows = rows.filter((r) => anyTags.some((t) => tagsOf(r).includes(t)));
    const notTags = many('not_tags');
    if (notTags) rows = rows.filter((r) => !notTags.every((t) => tagsOf(r).includes(t)));
    const notAny = many('not_tags_any');
    if (notAny) rows = rows.filter((r) => !notAny.some((t) => tagsOf(r).includes(t)));
    const sortKey = String(q.sort_keys ?? 'created_at').split(',')[0]!;
    const keyOf: Record<string, (r: StackRow) => string> = { created_at: (r) => r.created_at, updated_at: (r) => r.updated_at ?? '', stack_name: (r) => r.name, stack_status: (r) => `${r.action}_${r.status}` };
    const key = keyOf[sortKey];
    if (!key) throw new BadRequestError(`Sort key ${sortKey} is not one of created_at, updated_at, stack_name, stack_status`);
    const dir = String(q.sort_dir ?? 'desc');
    if (dir !== 'asc' && dir !== 'desc') throw new BadRequestError(`Sort direction ${dir} must be asc or desc`);
    rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (dir === 'asc' ? 1 : -1));
    if (q.marker) {
      const i = rows.findIndex((r) => r.id === q.marker);
      if (i < 0) throw new NotFoundError(`The Stack (${String(q.marker)}) could not be found.`);
      rows = rows.slice(i + 1);
    }
    if (q.limit !== undefined) {
      const n = Number(q.limit);
      if (!Number.isInteger(n) || n < 0) throw new BadRequestError(`Invalid limit: ${String(q.limit)}`);
      rows = rows.slice(0, n);
    }
    return rows;
  }

  // ---- specs and validation

  /** The spec a create/update/validate/preview body asks for. */
  async specFrom(body: Body, base?: StackSpec): Promise<StackSpec> {
    let template: Record<string, unknown> | undefined;
    const files = { ...(base?.files ?? {}), ...this.filesOf(body) };
    let source = body.template;
    if ((source === undefined || source === null) && typeof body.template_url === 'string') source = await fetchTemplate(body.template_url, this.refusedPorts);
    if (source !== undefined && source !== null) {
      const doc = parseDocument(source);
      template = body.template_format === 'compose' || isComposeDocument(doc) ? composeToTemplate(doc, files) : doc;
    }
    template ??= base?.template;
    if (!template) throw new BadRequestError('Need more arguments: a template (or template_url) is required.');
    const envs: Environment[] = [];
    if (base) envs.push(base.environment);
    const envFiles = body.environment_files;
    if (envFiles !== undefined) {
      if (!Array.isArray(envFiles)) throw new BadRequestError('environment_files must be a list of file names.');
      for (const f of envFiles) {
        if (!(String(f) in files)) throw new TemplateError(`environment_files: ${String(f)} is not in files.`);
        envs.push(parseEnvironment(files[String(f)]));
      }
    }
    if (body.environment !== undefined) envs.push(parseEnvironment(body.environment));
    const environment = mergeEnvironments(...envs);
    const given = body.parameters ?? {};
    if (typeof given !== 'object' || Array.isArray(given)) throw new BadRequestError('parameters must be a map.');
    let parameters = { ...(base?.parameters ?? {}), ...environment.parameters, ...(given as Body) };
    if (Array.isArray(body.clear_parameters)) for (const p of body.clear_parameters) delete parameters[String(p)];
    if (!base) parameters = { ...environment.parameters, ...(given as Body) };
    return { template, environment, files, parameters };
  }

  private filesOf(body: Body): Record<string, string> {
    const files = body.files ?? {};
    if (typeof files !== 'object' || Array.isArray(files)) throw new BadRequestError('files must be a map of names to contents.');
    return Object.fromEntries(Object.entries(files as Body).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }

  /** Builds and checks the model: template, parameters, types, properties and their custom constraints. */
  /** `unsetParameters`: a template whose parameters have no value yet is fine (template validate). */
  async validateSpec(ctx: RequestContext, spec: StackSpec, identity: { id: string; name: string; projectId: string }, unsetParameters = false): Promise<StackModel> {
    const stack = { ...identity, region: this.region };
    const model = buildModel(spec, stack, this.engine.registry, 0, false, unsetParameters);
    const checks = validateProperties(model, stack, ctx, this.clients.compute.isAdmin(ctx), this.engine.registry);
    await Promise.all(checks.typeChecks);
    await checkPatterns(checks.customChecks);
    await Promise.all(checks.customChecks.filter((c) => c.constraint !== 'allowed_pattern').map((c) => this.customCheck(ctx, c)));
    return model;
  }

  private async customCheck(ctx: RequestContext, c: CustomCheck): Promise<void> {
    const value = String(c.value);
    const where = c.parameter.includes('.') ? c.parameter : `Parameter '${c.parameter}'`;
    const fail = (what: string) => new TemplateError(`${where} is invalid: Error validating value '${value}': The ${what} (${value}) could not be found.`);
    switch (c.constraint) {
      case 'glance.image':
        if (!(await this.findImage(ctx, value))) throw fail('Image');
        return;
      case 'nova.flavor':
        if (!(await this.clients.compute.flavors(ctx)).some((f) => f.id === value || f.name === value)) throw fail('Flavor');
        return;
      case 'nova.keypair':
        try {
          await this.clients.compute.keypair(ctx, value);
        } catch (err) {
          if (isNotFound(err)) throw fail('Key');
          throw err;
        }
        return;
      case 'neutron.network':
      case 'neutron.subnet':
      case 'neutron.port':
      case 'neutron.security_group':
      case 'neutron.router': {
        const kind = c.constraint.slice('neutron.'.length) as 'network' | 'subnet' | 'port' | 'security_group' | 'router';
        if (!(await this.clients.network.list(ctx, kind)).some((n) => n.id === value || n.name === value)) throw fail(NEUTRON_NAMES[kind]);
        return;
      }
      case 'magnum.cluster_template':
        if (!this.clients.magnum) return;
        try {
          await this.clients.magnum.showTemplate(ctx, value);
        } catch (err) {
          if (isNotFound(err)) throw fail('ClusterTemplate');
          throw err;
        }
        return;
      default:
        // Constraints hafen does not know (cinder.volume ...) are not checked, as Heat skips unknown ones.
        return;
    }
  }

  private async findImage(ctx: RequestContext, ref: string): Promise<boolean> {
    try {
      await this.clients.image.get(ctx, ref);
      return true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return (await this.clients.image.list(ctx, { name: ref })).length > 0;
  }

  /** A signal to a resource by a user, acting with that user's rights. */
  async signal(ctx: RequestContext, stack: StackRow, resource: string, details: unknown): Promise<void> {
    this.enforce(ctx, 'resources:signal');
    await this.engine.signalResource(stack, resource, details, callerActor(ctx));
  }

  /**
   * A signal by a wait condition handle's own token: it may change the handle's state and nothing
   * else, so it acts as no user and with no roles (Heat's stack domain user).
   */
  async signalByHandle(stack: StackRow, resource: string, details: unknown): Promise<void> {
    const ctx = internalContext({ userId: `heat-handle:${stack.id}`, userName: 'heat-handle', projectId: stack.project_id, roles: [], auditId: '' });
    await this.engine.signalResource(stack, resource, details, callerActor(ctx));
  }

  /** The stack and resource of a wait condition handle, by its physical id (the signal URL). */
  async findHandle(handleId: string): Promise<{ stack: StackRow; name: string; data: Record<string, unknown> } | undefined> {
    const row = await this.store.resourceByPhysicalId(handleId, 'OS::Heat::WaitConditionHandle');
    const stack = row ? await this.store.stack(row.stack_id) : undefined;
    return row && stack ? { stack, name: row.name, data: JSON.parse(row.data) as Record<string, unknown> } : undefined;
  }

  // ---- stacks

  async create(ctx: RequestContext, tenant: string, body: Body): Promise<StackRow> {
    this.enforce(ctx, 'stacks:create');
    const project = this.project(ctx, tenant);
    const name = body.stack_name;
    if (typeof name !== 'string' || !STACK_NAME.test(name)) {
      throw new BadRequestError(`Invalid stack name ${JSON.stringify(name ?? null)} must contain only alphanumeric or "_-." characters, must start with alpha and must be 255 characters or less.`);
    }
    if (await this.store.stackByName(project, name)) throw new ConflictError(`The Stack (${name}) already exists.`);
    const spec = await this.specFrom(body);
    const id = randomUUID();
    await this.validateSpec(ctx, spec, { id, name, projectId: project });
    const timeout = body.timeout_mins === undefined || body.timeout_mins === null ? null : Number(body.timeout_mins);
    if (timeout !== null && (!Number.isInteger(timeout) || timeout <= 0)) throw new BadRequestError(`Invalid timeout value ${String(body.timeout_mins)}`);
    const { trustId } = await this.clients.identity.createDelegation(ctx, STACK_DELEGATION);
    const row: StackRow = {
      id,
      name,
      project_id: project,
      user_id: ctx.userId,
      parent_id: null,
      parent_resource: null,
      action: 'CREATE',
      status: 'IN_PROGRESS',
      status_reason: 'Stack CREATE started',
      ...specColumns(spec),
      disable_rollback: body.disable_rollback === false || body.disable_rollback === 'false' ? 0 : 1,
      timeout_mins: timeout,
      tags: this.tagsOf(body.tags),
      owner_name: ctx.userName,
      trust_id: trustId,
      previous: null,
      created_at: new Date().toISOString(),
      updated_at: null,
    };
    try {
      await this.store.insertStack(row);
    } catch (err) {
      await this.clients.identity.deleteDelegation(trustId);
      throw err;
    }
    this.engine.create(row);
    return row;
  }

  private tagsOf(tags: unknown): string | null {
    if (tags === undefined || tags === null || tags === '') return null;
    const list = Array.isArray(tags) ? tags.map(String) : String(tags).split(',').map((t) => t.trim()).filter(Boolean);
    return JSON.stringify(list);
  }

  async preview(ctx: RequestContext, tenant: string, body: Body): Promise<{ row: Omit<StackRow, 'trust_id'>; model: StackModel }> {
    this.enforce(ctx, 'stacks:preview');
    const project = this.project(ctx, tenant);
    const name = String(body.stack_name ?? '');
    if (!STACK_NAME.test(name)) throw new BadRequestError(`Invalid stack name ${name}`);
    const spec = await this.specFrom(body);
    const id = randomUUID();
    const model = await this.validateSpec(ctx, spec, { id, name, projectId: project });
    const row = {
      id, name, project_id: project, user_id: ctx.userId, parent_id: null, parent_resource: null, action: 'INIT' as const, status: 'COMPLETE' as const, status_reason: '',
      ...specColumns(spec), disable_rollback: 1, timeout_mins: null, tags: this.tagsOf(body.tags), owner_name: ctx.userName, previous: null, created_at: new Date().toISOString(), updated_at: null,
    };
    return { row, model };
  }

  /**
   * The operation about to start acts as the caller: a delegation of the caller's roles replaces the
   * stack's previous one (written before the operation starts, so a restart continues as the caller).
   */
  private async delegate(ctx: RequestContext, stack: StackRow, fields: Partial<StackRow>): Promise<void> {
    const { trustId } = await this.clients.identity.createDelegation(ctx, STACK_DELEGATION);
    const replaced = stack.trust_id;
    Object.assign(stack, fields, { trust_id: trustId });
    await this.store.updateStack(stack.id, { ...fields, trust_id: trustId });
    if (replaced) await this.clients.identity.deleteDelegation(replaced);
  }

  private assertIdle(stack: StackRow): void {
    if (this.engine.isBusy(stack.id) || stack.status === 'IN_PROGRESS') throw new ConflictError(`Stack ${stack.name} already has an action (${stack.action}) in progress.`);
  }

  /** PUT (replace everything) or PATCH (`existing`: keep what the body does not give). */
  async update(ctx: RequestContext, stack: StackRow, body: Body, existing: boolean): Promise<void> {
    this.enforce(ctx, 'stacks:update');
    this.assertIdle(stack);
    const previous = specOf(stack);
    const spec = existing ? await this.specFrom(body, previous) : await this.specFrom(body);
    await this.validateSpec(ctx, spec, { id: stack.id, name: stack.name, projectId: stack.project_id });
    const fields: Partial<StackRow> = { ...specColumns(spec), previous: JSON.stringify(previous), action: 'UPDATE', status: 'IN_PROGRESS', status_reason: 'Stack UPDATE started', updated_at: new Date().toISOString() };
    if (body.disable_rollback !== undefined) fields.disable_rollback = body.disable_rollback === true || body.disable_rollback === 'true' ? 1 : 0;
    if (body.timeout_mins !== undefined) fields.timeout_mins = body.timeout_mins === null ? null : Number(body.timeout_mins);
    if (body.tags !== undefined) fields.tags = this.tagsOf(body.tags);
    await this.delegate(ctx, stack, fields);
    this.engine.update(stack, previous);
  }

  /** What an update would do, resource by resource, without doing it. */
  async previewUpdate(ctx: RequestContext, stack: StackRow, body: Body, existing: boolean): Promise<Record<string, unknown[]>> {
    this.enforce(ctx, 'stacks:preview_update');
    const spec = existing ? await this.specFrom(body, specOf(stack)) : await this.specFrom(body);
    const model = await this.validateSpec(ctx, spec, { id: stack.id, name: stack.name, projectId: stack.project_id });
    const rows = (await this.store.resources(stack.id)).filter((r) => r.current === 1);
    const byName = new Map(rows.map((r) => [r.name, r]));
    const out: Record<string, unknown[]> = { added: [], deleted: [], replaced: [], unchanged: [], updated: [] };
    const entry = (name: string, type: string, id: string | null) => ({ resource_name: name, resource_type: type, physical_resource_id: id ?? '', stack_name: stack.name, stack_identity: { stack_name: stack.name, stack_id: stack.id, tenant: stack.project_id, path: '' } });
    const oldModel = this.engine.modelOf(stack);
    for (const [name, r] of model.resources) {
      const old = byName.get(name);
      if (!old) {
        out.added!.push(entry(name, r.type.type, null));
        continue;
      }
      if (old.type !== r.type.type) {
        out.replaced!.push(entry(name, r.type.type, old.physical_id));
        continue;
      }
      const before = oldModel?.resources.get(name)?.definition.properties;
      const changed = Object.keys({ ...(before ?? {}), ...r.definition.properties }).filter((k) => JSON.stringify(before?.[k]) !== JSON.stringify(r.definition.properties[k]));
      const paramChanged = JSON.stringify(oldModel?.parameters) !== JSON.stringify(model.parameters) && JSON.stringify(r.definition.properties).includes('get_param');
      if (changed.length === 0 && !paramChanged) out.unchanged!.push(entry(name, r.type.type, old.physical_id));
      else if (r.type.update && (changed.length ? changed : Object.keys(r.definition.properties)).every((k) => r.type.properties[k]?.update_allowed)) out.updated!.push(entry(name, r.type.type, old.physical_id));
      else out.replaced!.push(entry(name, r.type.type, old.physical_id));
    }
    for (const row of rows) if (!model.resources.has(row.name)) out.deleted!.push(entry(row.name, row.type, row.physical_id));
    return out;
  }

  async delete(ctx: RequestContext, stack: StackRow): Promise<void> {
    this.enforce(ctx, 'stacks:delete');
    if (stack.parent_id) throw new BadRequestError(`Stack ${stack.name} is a nested stack: delete its parent.`);
    await this.delegate(ctx, stack, { action: 'DELETE', status: 'IN_PROGRESS', status_reason: 'Stack DELETE started' });
    this.engine.delete(stack);
  }

  async action(ctx: RequestContext, stack: StackRow, body: Body): Promise<void> {
    const keys = Object.keys(body ?? {});
    if (keys.length !== 1) throw new BadRequestError('Invalid action: give exactly one of suspend, resume, check, cancel_update, cancel_without_rollback.');
    const action = keys[0]!;
    this.enforce(ctx, `stacks:${action === 'cancel_without_rollback' ? 'cancel_update' : action}`);
    switch (action) {
      case 'suspend':
      case 'resume':
      case 'check': {
        this.assertIdle(stack);
        const upper = action.toUpperCase() as 'SUSPEND' | 'RESUME' | 'CHECK';
        await this.delegate(ctx, stack, { action: upper, status: 'IN_PROGRESS', status_reason: `Stack ${upper} started` });
        this.engine.simpleAction(stack, upper);
        return;
      }
      case 'cancel_update':
      case 'cancel_without_rollback': {
        if (!this.engine.canCancel(stack.id)) throw new ConflictError(`Cancelling update when stack is ${stack.action}_${stack.status} is not supported.`);
        // The rollback that follows acts as the user who cancelled.
        const { trustId } = await this.clients.identity.createDelegation(ctx, STACK_DELEGATION);
        const replaced = this.engine.cancel(stack.id, action === 'cancel_update', trustId);
        await this.store.updateStack(stack.id, { trust_id: trustId });
        if (replaced) await this.clients.identity.deleteDelegation(replaced);
        return;
      }
      default:
        throw new BadRequestError(`Invalid action ${action}`);
    }
  }
}
