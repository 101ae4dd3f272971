// Runs stack operations: create (with rollback), update (in place or by replacement, the
// replacement made before the old one goes), delete in reverse dependency order, suspend, resume,
// check, nested stacks, and recovery after a restart. Every state change is written before and
// after it happens, so a restart can finish or fail cleanly from the rows. Work runs as the user who
// asked for it, through the delegation the stack row names, checked again before every resource.
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestContext } from '../../platform/auth/context.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, isNotFound } from '../../platform/errors.ts';
import type { Clients } from '../clients.ts';
import type { OrchestrationStore, ResourceRow, StackAction, StackRow, Status } from '../store.ts';
import { evaluate, isEnabled, type FunctionContext } from '../template/functions.ts';
import { checkPatterns } from '../template/patterns.ts';
import { yieldToOthers } from '../../platform/yield.ts';
import { parseEnvironment, type Environment } from '../template/environment.ts';
import { checkProperties, type ResourceHandle, type ResourceType, type NestedStacks } from '../resources/types.ts';
import type { ResourceRegistry } from '../resources/registry.ts';
import { ReplaceRequired } from '../resources/heat/test-resource.ts';
import { buildModel, treeLimitError, type StackIdentity, type StackModel, type StackSpec } from './model.ts';
import { MAX_RESOURCES_PER_STACK } from '../template/model.ts';
import { abortReason, reverse, walk, type Graph } from './graph.ts';

export interface EngineOptions {
  /** Resource operations of one stack run side by side up to this many. */
  concurrency: number;
  publicUrl: string;
  region: string;
  /** Fastest poll of a check_*_complete hook, ms. */
  pollMs: number;
}

/**
 * Who a run acts as. Asked again before each resource step, so that work going on after its request
 * stops as soon as the user it acts for loses the role (or the delegation is deleted).
 */
export interface Actor {
  context(): Promise<RequestContext>;
}

/** The caller of a request that reads through the engine (outputs, attributes). */
export function callerActor(ctx: RequestContext): Actor {
  return { context: async () => ctx };
}

/** How long a delegation's resolved context is reused between resource steps. */
const DELEGATION_RECHECK_MS = 1000;

export function specOf(stack: Pick<StackRow, 'template' | 'environment' | 'files' | 'parameters'>): StackSpec {
  return {
    template: JSON.parse(stack.template) as Record<string, unknown>,
    environment: parseEnvironment(JSON.parse(stack.environment) as Record<string, unknown>) as Environment,
    files: JSON.parse(stack.files) as Record<string, string>,
    parameters: JSON.parse(stack.parameters) as Record<string, unknown>,
  };
}

export function specColumns(spec: StackSpec): Pick<StackRow, 'template' | 'environment' | 'files' | 'parameters'> {
  const { resource_overrides, ...env } = spec.environment;
  const registry = { ...env.resource_registry, ...(Object.keys(resource_overrides).length ? { resources: resource_overrides } : {}) };
  return {
    template: JSON.stringify(spec.template),
    environment: JSON.stringify({ parameters: env.parameters, parameter_defaults: env.parameter_defaults, resource_registry: registry, event_sinks: env.event_sinks }),
    files: JSON.stringify(spec.files),
    parameters: JSON.stringify(spec.parameters),
  };
}

const now = () => new Date().toISOString();
const shortId = () => randomBytes(6).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, 'x');

/** An attribute the evaluation needs and the cache does not hold yet. */
class NeedAttribute extends Error {
  constructor(readonly key: string, readonly resource: string, readonly attribute: string) {
    super(`attribute ${resource}.${attribute} needed`);
  }
}

/** The failure of a stack operation, with the message Heat puts in stack_status_reason. */
class OperationFailed extends Error {}

/** The resources of a stack tree (a stack and its nested stacks), counted against the limit. */
interface TreeCount {
  rootId: string;
  /** Counted from the rows at the first nested operation, then kept up to date by them. */
  used?: number;
  counting?: Promise<void>;
}

/** What a nested stack's run takes over from its parent's: who acts, and the tree's count. */
interface Lineage {
  actor: Actor;
  tree: TreeCount;
}

interface Run extends Lineage {
  stack: StackRow;
  model: StackModel;
  /** The actor's context as last checked (refresh() before each resource step). */
  ctx: RequestContext;
  admin: boolean;
  identity: StackIdentity;
  /** The rows the stack uses now, by name. */
  rows: Map<string, ResourceRow>;
  /** Every row of the stack (replaced ones too). */
  all: ResourceRow[];
  data: Map<string, Record<string, unknown>>;
  signal: AbortSignal;
  depth: number;
}

interface Operation {
  action: StackAction;
  /** The row the operation works on: its trust_id is the delegation the operation acts through. */
  stack: StackRow;
  controller: AbortController;
  done: Promise<void>;
  /** cancel_without_rollback: the failure is not rolled back. */
  noRollback?: boolean;
}

export class StackEngine {
  private readonly operations = new Map<string, Operation>();
  /** Set by stop(): from then on no state is written, so the rows say IN_PROGRESS for recovery. */
  private stopping = false;

  constructor(
    private readonly store: OrchestrationStore,
    readonly registry: ResourceRegistry,
    private readonly clients: Clients,
    private readonly options: EngineOptions,
    private readonly log: (msg: string) => void = () => undefined,
  ) {}

  identityOf(stack: StackRow): StackIdentity {
    return { id: stack.id, name: stack.name, projectId: stack.project_id, region: this.options.region };
  }

  /** The stack's model as its rows say, or undefined when the stored template no longer builds. */
  modelOf(stack: StackRow): StackModel | undefined {
    try {
      return buildModel(specOf(stack), this.identityOf(stack), this.registry);
    } catch {
      return undefined;
    }
  }

  isBusy(stackId: string): boolean {
    return this.operations.has(stackId);
  }

  async settle(): Promise<void> {
    while (this.operations.size > 0) await Promise.allSettled([...this.operations.values()].map((o) => o.done));
  }

  /** Stops every operation (shutdown); their stacks stay IN_PROGRESS for recovery at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const op of this.operations.values()) op.controller.abort(new Error('Engine stopped'));
    await this.settle();
  }

  /** Whether an update is under way that cancel() can stop. */
  canCancel(stackId: string): boolean {
    return this.operations.get(stackId)?.action === 'UPDATE';
  }

  /**
   * Cancels an update in progress: rolled back unless `rollback` is false. What follows (the
   * rollback) acts through `trustId`, the delegation of the user who cancelled; returns the
   * delegation it replaced, for the caller to delete.
   */
  cancel(stackId: string, rollback: boolean, trustId: string): string | null {
    const op = this.operations.get(stackId);
    if (!op || op.action !== 'UPDATE') throw new ConflictError(`Cancelling update when stack is ${op?.action ?? 'not'} in progress is not supported.`);
    const replaced = op.stack.trust_id;
    op.stack.trust_id = trustId;
    op.noRollback = !rollback;
    op.controller.abort(new Error('Stack UPDATE cancelled'));
    return replaced;
  }

  /** A run's actor for a stack: the delegation its row names, resolved at most once a second. */
  private delegated(stack: StackRow): Actor {
    let cached: { trust: string; ctx: RequestContext; at: number } | undefined;
    return {
      context: async () => {
        const trust = stack.trust_id;
        if (!trust) throw new ForbiddenError(`Stack ${stack.name} has no delegation to act with: ask again for the operation.`);
        if (cached && cached.trust === trust && Date.now() - cached.at < DELEGATION_RECHECK_MS) return cached.ctx;
        const ctx = await this.clients.identity.contextOfDelegation(trust);
        cached = { trust, ctx, at: Date.now() };
        return ctx;
      },
    };
  }

  /** The operation is over: its delegation is deleted (unless a later operation replaced it). */
  private async release(stack: StackRow): Promise<void> {
    const trust = stack.trust_id;
    if (!trust) return;
    stack.trust_id = null;
    try {
      await this.store.clearTrust(stack.id, trust);
      await this.clients.identity.deleteDelegation(trust);
    } catch (err) {
      this.log(`orchestration: stack ${stack.id}: deleting delegation ${trust}: ${(err as Error).message}`);
    }
  }

  private begin(stack: StackRow, action: StackAction, work: (signal: AbortSignal) => Promise<void>): void {
    if (this.operations.has(stack.id)) throw new ConflictError(`Stack ${stack.name} already has an action (${this.operations.get(stack.id)!.action}) in progress.`);
    if (this.stopping) return; // asked for during shutdown: the stack is IN_PROGRESS and recovered at the next start
    const controller = new AbortController();
    const timer = stack.timeout_mins ? setTimeout(() => controller.abort(new OperationFailed(`${action === 'CREATE' ? 'Create' : action === 'UPDATE' ? 'Update' : action} timed out`)), stack.timeout_mins * 60_000) : undefined;
    timer?.unref();
    const op: Operation = { action, stack, controller, done: Promise.resolve() };
    op.done = (async () => {
      try {
        await work(controller.signal);
      } catch (err) {
        if (!(err instanceof OperationFailed)) this.log(`orchestration: stack ${stack.id} ${action}: ${(err as Error).stack ?? String(err)}`);
      } finally {
        clearTimeout(timer);
        this.operations.delete(stack.id);
        // Interrupted by a stop, the delegation stays for the recovery at the next start.
        if (!this.stopping) await this.release(stack);
      }
    })();
    this.operations.set(stack.id, op);
  }

  // ---- operations started by the service (the stack row already says X IN_PROGRESS)

  create(stack: StackRow): void {
    this.begin(stack, 'CREATE', (signal) => this.runCreate(stack, signal, 0));
  }

  update(stack: StackRow, previous: StackSpec): void {
    this.begin(stack, 'UPDATE', (signal) => this.runUpdate(stack, previous, signal, 0));
  }

  delete(stack: StackRow): void {
    this.operations.get(stack.id)?.controller.abort(new Error('Stack DELETE started'));
    const waitFor = this.operations.get(stack.id)?.done ?? Promise.resolve();
    const start = () => {
      // Two deletes asked for while another operation ran: the first one started does the work.
      if (this.operations.get(stack.id)?.action === 'DELETE') return;
      this.begin(stack, 'DELETE', (signal) => this.runDelete(stack, signal, 0));
    };
    if (this.operations.has(stack.id)) void waitFor.then(start).catch((err: Error) => this.log(`orchestration: stack ${stack.id} DELETE: ${err.message}`));
    else start();
  }

  simpleAction(stack: StackRow, action: 'SUSPEND' | 'RESUME' | 'CHECK'): void {
    this.begin(stack, action, (signal) => this.runSimple(stack, action, signal, 0));
  }

  // ---- state

  private async stackState(stack: StackRow, action: StackAction, status: Status, reason: string): Promise<void> {
    if (this.stopping) return;
    stack.action = action;
    stack.status = status;
    stack.status_reason = reason;
    stack.updated_at = now();
    await Promise.all([
      this.store.updateStack(stack.id, { action, status, status_reason: reason, updated_at: stack.updated_at }),
      this.store.insertEvent({ id: randomUUID(), stack_id: stack.id, resource_name: stack.name, resource_type: 'OS::Heat::Stack', physical_id: stack.id, action, status, reason, properties: '{}', created_at: stack.updated_at }),
    ]);
  }

  private async resourceState(run: Run, row: ResourceRow, action: StackAction, status: Status, reason: string, extra: Partial<ResourceRow> = {}): Promise<void> {
    if (this.stopping) return;
    await yieldToOthers();
    Object.assign(row, extra, { action, status, status_reason: reason, updated_at: now() });
    await Promise.all([
      this.store.updateResource(row.id, { ...extra, action, status, status_reason: reason, updated_at: row.updated_at }),
      this.store.insertEvent({ id: randomUUID(), stack_id: run.stack.id, resource_name: row.name, resource_type: row.type, physical_id: row.physical_id, action, status, reason, properties: '{}', created_at: row.updated_at! }),
    ]);
  }

  private async saveData(row: ResourceRow, data: Record<string, unknown>): Promise<void> {
    const json = JSON.stringify(data);
    if (json === row.data) return;
    await yieldToOthers();
    row.data = json;
    await this.store.updateResource(row.id, { data: json });
  }

  private newRow(run: Run, name: string, type: ResourceType, metadata: Record<string, unknown>): ResourceRow {
    const row: ResourceRow = {
      id: randomUUID(),
      stack_id: run.stack.id,
      name,
      type: type.type,
      physical_id: null,
      action: 'INIT',
      status: 'COMPLETE',
      status_reason: '',
      properties: '{}',
      data: '{}',
      metadata: JSON.stringify(metadata),
      current: 1,
      physical_name: `${run.stack.name}-${name}-${shortId()}`.slice(0, 255),
      created_at: now(),
      updated_at: null,
    };
    run.all.push(row);
    return row;
  }

  // ---- runs

  private async open(stack: StackRow, signal: AbortSignal, depth: number, opts: { spec?: StackSpec; actor?: Actor; from?: Lineage } = {}): Promise<Run> {
    const actor = opts.from?.actor ?? opts.actor ?? this.delegated(stack);
    const tree = opts.from?.tree ?? { rootId: stack.id };
    const ctx = await actor.context();
    await yieldToOthers(); // building a model of many resources is synchronous work
    const identity = this.identityOf(stack);
    const model = buildModel(opts.spec ?? specOf(stack), identity, this.registry, depth);
    const all = await this.store.resources(stack.id);
    const rows = new Map(all.filter((r) => r.current === 1).map((r) => [r.name, r]));
    return { stack, model, actor, tree, ctx, admin: this.clients.compute.isAdmin(ctx), identity, rows, all, data: new Map(), signal, depth };
  }

  /**
   * Adds `delta` resources to the tree's count, refusing (before anything is made) to go past the
   * limit: nested stacks cannot multiply past it (groups of groups).
   */
  private async reserve(tree: TreeCount, delta: number): Promise<void> {
    if (tree.used === undefined) {
      tree.counting ??= (async () => {
        let used = 0;
        const queue = [tree.rootId];
        while (queue.length) {
          const id = queue.pop()!;
          used += await this.store.resourceCount(id);
          queue.push(...(await this.store.childStackIds(id)));
        }
        tree.used = used;
      })();
      await tree.counting;
    }
    const next = tree.used! + delta;
    if (delta > 0 && next > MAX_RESOURCES_PER_STACK) throw treeLimitError(next);
    tree.used = Math.max(0, next);
  }

  /** Checks the actor again (a lost role fails the step) before a resource is acted on. */
  private async refresh(run: Run): Promise<void> {
    run.ctx = await run.actor.context();
    run.admin = this.clients.compute.isAdmin(run.ctx);
  }

  private typeOf(run: Run, row: ResourceRow): ResourceType {
    const m = run.model.resources.get(row.name);
    if (m && m.type.type === row.type) return m.type;
    try {
      return this.registry.typeFor(row.type, run.model.spec.files, `resources.${row.name}`);
    } catch {
      // A type that no longer resolves (a file dropped in an update) can still be deleted as nothing.
      return { type: row.type, description: '', properties: {}, attributes: {}, async create() { return null; } };
    }
  }

  private dataOf(run: Run, row: ResourceRow): Record<string, unknown> {
    let d = run.data.get(row.id);
    if (!d) {
      d = JSON.parse(row.data) as Record<string, unknown>;
      run.data.set(row.id, d);
    }
    return d;
  }

  private handle(run: Run, row: ResourceRow): ResourceHandle {
    return {
      ctx: run.ctx,
      stack: { id: run.stack.id, name: run.stack.name, projectId: run.stack.project_id },
      name: row.name,
      physicalName: row.physical_name,
      clients: this.clients,
      data: this.dataOf(run, row),
      metadata: JSON.parse(row.metadata) as Record<string, unknown>,
      requestId: `req-${randomUUID()}`,
      setPhysicalId: async (id: string) => {
        row.physical_id = id;
        await this.store.updateResource(row.id, { physical_id: id });
      },
      signal: run.signal,
      nested: this.nestedFor(run, row),
      spec: run.model.spec,
      publicUrl: this.options.publicUrl,
      sibling: async (ref: string) => {
        const fresh = await this.store.resources(run.stack.id);
        const r = fresh.find((x) => x.current === 1 && (x.physical_id === ref || x.name === ref));
        return r ? { name: r.name, data: JSON.parse(r.data) as Record<string, unknown> } : undefined;
      },
    };
  }

  /** The value of a template expression with live references and attributes of the stack's resources. */
  private async evaluateLive(run: Run, value: unknown, at: string): Promise<unknown> {
    const cache = new Map<string, unknown>();
    for (;;) {
      const fctx: FunctionContext = {
        template: run.model.template,
        parameters: run.model.parameters,
        stack: run.identity,
        files: run.model.spec.files,
        conditions: run.model.conditions,
        resourceId: (name) => this.reference(run, name),
        attribute: (name, attr, path) => {
          const key = `${name}\u0000${attr}`;
          if (!cache.has(key)) throw new NeedAttribute(key, name, attr);
          let v = cache.get(key);
          for (const p of path) v = v === null || v === undefined ? null : ((v as Record<string | number, unknown>)[p as string] ?? null);
          return v;
        },
      };
      try {
        return evaluate(value, fctx, at);
      } catch (err) {
        if (!(err instanceof NeedAttribute)) throw err;
        cache.set(err.key, await this.attributeOf(run, err.resource, err.attribute));
      }
    }
  }

  private reference(run: Run, name: string): unknown {
    const row = run.rows.get(name);
    if (!row) return null;
    const type = this.typeOf(run, row);
    if (type.reference) return type.reference(this.handle(run, row), row.physical_id);
    return row.physical_id ?? row.physical_name;
  }

  private async attributeOf(run: Run, name: string, attr: string): Promise<unknown> {
    const row = run.rows.get(name);
    if (!row || row.action === 'INIT') return null;
    const type = this.typeOf(run, row);
    const h = this.handle(run, row);
    if (attr === 'show') {
      const shown = type.attribute ? await type.attribute(h, row.physical_id, 'show') : null;
      return shown ?? { id: row.physical_id, name: row.physical_name };
    }
    try {
      return type.attribute ? ((await type.attribute(h, row.physical_id, attr)) ?? null) : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Every attribute of a resource its type declares (resource show), read with the caller's rights. */
  async attributesOf(stack: StackRow, name: string, ctx: RequestContext): Promise<Record<string, unknown>> {
    const run = await this.open(stack, new AbortController().signal, await this.depthOf(stack), { actor: callerActor(ctx) });
    const row = run.rows.get(name);
    if (!row) return {};
    const type = this.typeOf(run, row);
    const out: Record<string, unknown> = {};
    for (const attr of Object.keys(type.attributes)) out[attr] = await this.attributeOf(run, name, attr).catch(() => null);
    return out;
  }

  /** The stack's outputs, evaluated with the rights of `actor` (the caller, or the run of a parent stack). */
  async outputs(stack: StackRow, actor: Actor): Promise<{ output_key: string; output_value: unknown; description: string; output_error?: string }[]> {
    let run: Run;
    try {
      run = await this.open(stack, new AbortController().signal, await this.depthOf(stack), { actor });
    } catch (err) {
      return [];
    }
    const out = [];
    for (const [key, o] of Object.entries(run.model.template.outputs)) {
      const fctx = { template: run.model.template, parameters: run.model.parameters, stack: run.identity, files: run.model.spec.files, conditions: run.model.conditions, resourceId: () => null, attribute: () => null };
      if (!isEnabled(o.condition, fctx, `outputs.${key}`)) continue;
      try {
        out.push({ output_key: key, output_value: await this.evaluateLive(run, o.value, `outputs.${key}`), description: o.description ?? 'No description given' });
      } catch (err) {
        out.push({ output_key: key, output_value: null, description: o.description ?? 'No description given', output_error: (err as Error).message });
      }
    }
    return out;
  }

  private async depthOf(stack: StackRow): Promise<number> {
    let depth = 0;
    let parent = stack.parent_id;
    while (parent) {
      depth++;
      parent = (await this.store.stack(parent))?.parent_id ?? null;
    }
    return depth;
  }

  private async poll(run: Run, check: () => Promise<boolean>): Promise<void> {
    let delay = this.options.pollMs;
    const started = Date.now();
    while (!(await check())) {
      if (run.signal.aborted) throw abortReason(run.signal);
      await sleep(delay, undefined, { signal: run.signal }).catch(() => undefined);
      if (run.signal.aborted) throw abortReason(run.signal);
      // Reading a row is cheap: poll often while a server boots, back off for long waits.
      delay = Math.min(delay * 1.5, Date.now() - started < 10_000 ? 50 : 1000);
    }
  }

  private failureOf(action: StackAction, name: string, err: unknown): OperationFailed {
    if (err instanceof OperationFailed) return err;
    const e = err as Error;
    const kind = e.name && e.name !== 'Error' ? e.name.replace(/Error$/, '') || 'Error' : 'Error';
    return new OperationFailed(`Resource ${action} failed: ${kind}: resources.${name}: ${e.message}`);
  }

  private async createResource(run: Run, name: string, row: ResourceRow): Promise<void> {
    const model = run.model.resources.get(name)!;
    const type = model.type;
    await this.resourceState(run, row, 'CREATE', 'IN_PROGRESS', 'state changed');
    try {
      await this.refresh(run);
      const props = checkProperties(type, (await this.evaluateLive(run, model.definition.properties, `resources.${name}.properties`)) as Record<string, unknown>, `resources.${name}.properties`, { admin: run.admin });
      row.properties = JSON.stringify(props);
      const h = this.handle(run, row);
      const id = await type.create(h, props);
      if (id !== null && id !== row.physical_id) await h.setPhysicalId(id);
      await this.saveData(row, h.data);
      // A hook that returned because the operation was cancelled or timed out has not succeeded.
      if (run.signal.aborted) throw abortReason(run.signal);
      if (type.checkCreateComplete && row.physical_id) {
        await this.poll(run, async () => {
          const done = await type.checkCreateComplete!(h, row.physical_id!);
          await this.saveData(row, h.data);
          return done;
        });
      }
      await this.resourceState(run, row, 'CREATE', 'COMPLETE', 'state changed', { properties: row.properties });
    } catch (err) {
      const failure = this.failureOf('CREATE', name, err);
      await this.resourceState(run, row, 'CREATE', 'FAILED', failure.message.replace(/^Resource CREATE failed: /, ''), { properties: row.properties });
      throw failure;
    }
  }

  private async deleteResource(run: Run, row: ResourceRow, action: StackAction = 'DELETE'): Promise<void> {
    const type = this.typeOf(run, row);
    const retain = run.model.resources.get(row.name)?.definition.deletion_policy === 'Retain' && row.current === 1;
    await yieldToOthers();
    if (row.action === 'INIT' && !row.physical_id) {
      await this.store.deleteResource(row.id);
      return;
    }
    await this.resourceState(run, row, action, 'IN_PROGRESS', 'state changed');
    try {
      await this.refresh(run);
      if (!row.physical_id && type.adopt) {
        const found = await type.adopt(this.handle(run, row));
        if (found) await this.handle(run, row).setPhysicalId(found);
      }
      if (row.physical_id && type.delete && !retain) {
        const h = this.handle(run, row);
        try {
          await type.delete(h, row.physical_id);
          if (type.checkDeleteComplete) await this.poll(run, () => type.checkDeleteComplete!(h, row.physical_id!));
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      await this.resourceState(run, row, action, 'COMPLETE', 'state changed');
      if (this.stopping) return; // interrupted: the delete is done again at the next start
      await this.store.deleteResource(row.id);
      run.all = run.all.filter((r) => r.id !== row.id);
      if (run.rows.get(row.name)?.id === row.id) run.rows.delete(row.name);
    } catch (err) {
      const failure = this.failureOf('DELETE', row.name, err);
      await this.resourceState(run, row, action, 'FAILED', failure.message.replace(/^Resource DELETE failed: /, ''));
      throw failure;
    }
  }

  /** Deletes rows in reverse order of `graph` (names without an entry go first). */
  private async deleteRows(run: Run, rows: ResourceRow[], graph: Graph, action: StackAction = 'DELETE'): Promise<Error | undefined> {
    const byName = new Map<string, ResourceRow[]>();
    for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    const g: Graph = new Map([...byName.keys()].map((n) => [n, new Set([...(graph.get(n) ?? [])].filter((d) => byName.has(d)))]));
    const result = await walk(reverse(g), async (name) => {
      for (const row of byName.get(name)!) await this.deleteResource(run, row, action);
    }, { concurrency: this.options.concurrency });
    return result.failed?.error;
  }

  private async runCreate(stack: StackRow, signal: AbortSignal, depth: number, from?: Lineage): Promise<void> {
    let run: Run;
    try {
      run = await this.open(stack, signal, depth, { from });
    } catch (err) {
      await this.stackState(stack, 'CREATE', 'FAILED', (err as Error).message);
      throw new OperationFailed((err as Error).message);
    }
    await this.stackState(stack, 'CREATE', 'IN_PROGRESS', 'Stack CREATE started');
    for (const [name, r] of run.model.resources) {
      if (run.rows.has(name)) continue;
      const row = this.newRow(run, name, r.type, r.definition.metadata);
      run.rows.set(name, row);
      await this.store.insertResource(row);
      await yieldToOthers();
    }
    const result = await walk(run.model.graph, (name) => this.createResource(run, name, run.rows.get(name)!), { concurrency: this.options.concurrency, signal });
    if (!result.failed) {
      await this.stackState(stack, 'CREATE', 'COMPLETE', 'Stack CREATE completed successfully');
      return;
    }
    const reason = result.failed.error.message;
    await this.stackState(stack, 'CREATE', 'FAILED', reason);
    if (!stack.disable_rollback && !(signal.aborted && (signal.reason as Error)?.message === 'Engine stopped')) {
      await this.rollbackCreate(run);
    }
    throw new OperationFailed(reason);
  }

  private async rollbackCreate(run: Run): Promise<void> {
    await this.stackState(run.stack, 'ROLLBACK', 'IN_PROGRESS', 'Stack ROLLBACK started');
    run.signal = new AbortController().signal;
    const err = await this.deleteRows(run, [...run.all], run.model.graph);
    if (err) await this.stackState(run.stack, 'ROLLBACK', 'FAILED', err.message);
    else await this.stackState(run.stack, 'ROLLBACK', 'COMPLETE', 'Stack ROLLBACK completed successfully');
  }

  private async runDelete(stack: StackRow, signal: AbortSignal, depth: number, from?: Lineage): Promise<void> {
    await this.stackState(stack, 'DELETE', 'IN_PROGRESS', 'Stack DELETE started');
    let run: Run;
    try {
      try {
        run = await this.open(stack, signal, depth, { from });
      } catch (err) {
        if (err instanceof ForbiddenError) throw err;
        // The template no longer builds (a type gone after an upgrade?): delete what the rows say,
        // with no order between them, against an empty template.
        run = await this.open(stack, signal, depth, { from, spec: { ...specOf(stack), template: { heat_template_version: '2021-04-16' }, parameters: {} } });
      }
    } catch (err) {
      await this.stackState(stack, 'DELETE', 'FAILED', (err as Error).message);
      throw new OperationFailed((err as Error).message);
    }
    const err = await this.deleteRows(run, [...run.all], run.model.graph);
    if (err) {
      await this.stackState(stack, 'DELETE', 'FAILED', err.message);
      throw new OperationFailed(err.message);
    }
    if (!this.stopping) await this.store.deleteStack(stack.id);
  }

  private async runUpdate(stack: StackRow, previous: StackSpec, signal: AbortSignal, depth: number, from?: Lineage): Promise<void> {
    await this.stackState(stack, 'UPDATE', 'IN_PROGRESS', 'Stack UPDATE started');
    let failure: Error | undefined;
    try {
      failure = await this.converge(await this.open(stack, signal, depth, { from }));
    } catch (err) {
      failure = err as Error;
    }
    if (!failure) {
      if (this.stopping) return; // interrupted: recovery needs `previous` to roll back
      stack.previous = null;
      await this.store.updateStack(stack.id, { previous: null });
      await this.stackState(stack, 'UPDATE', 'COMPLETE', 'Stack UPDATE completed successfully');
      return;
    }
    await this.stackState(stack, 'UPDATE', 'FAILED', failure.message);
    const op = this.operations.get(stack.id);
    if (stack.disable_rollback || op?.noRollback || (signal.reason as Error | undefined)?.message === 'Engine stopped') throw new OperationFailed(failure.message);
    await this.rollbackUpdate(stack, previous, new AbortController().signal, depth, from);
    throw new OperationFailed(failure.message);
  }

  /** Converges a failed update back to the template it replaced: ROLLBACK_COMPLETE or ROLLBACK_FAILED. */
  private async rollbackUpdate(stack: StackRow, previous: StackSpec, signal: AbortSignal, depth: number, from?: Lineage): Promise<void> {
    await this.stackState(stack, 'ROLLBACK', 'IN_PROGRESS', 'Stack ROLLBACK started');
    Object.assign(stack, specColumns(previous), { previous: null });
    await this.store.updateStack(stack.id, { ...specColumns(previous), previous: null });
    const err = await this.open(stack, signal, depth, { spec: previous, from }).then((run) => this.converge(run)).catch((e: Error) => e);
    if (err) await this.stackState(stack, 'ROLLBACK', 'FAILED', err.message);
    else await this.stackState(stack, 'ROLLBACK', 'COMPLETE', 'Stack ROLLBACK completed successfully');
  }

  /**
   * Brings the stack's resources to the run's model: keeps what matches, updates in place what may
   * be, replaces (new first) what must be, then deletes what the model no longer has and what was
   * replaced. A row kept from before that matches exactly is taken back (rollback).
   */
  private async converge(run: Run): Promise<Error | undefined> {
    const oldGraph = new Map<string, Set<string>>();
    try {
      const prevRun = run.stack.previous ? buildModel(JSON.parse(run.stack.previous) as StackSpec, run.identity, this.registry, run.depth) : undefined;
      for (const [k, v] of prevRun?.graph ?? []) oldGraph.set(k, v);
    } catch {
      // best effort: the graph only orders the deletes
    }
    const obsolete: ResourceRow[] = [];
    const step = async (name: string) => {
      const model = run.model.resources.get(name)!;
      const type = model.type;
      const at = `resources.${name}.properties`;
      await this.refresh(run);
      const props = checkProperties(type, (await this.evaluateLive(run, model.definition.properties, at)) as Record<string, unknown>, at, { admin: run.admin });
      const propsJson = JSON.stringify(props);
      const candidates = run.all.filter((r) => r.name === name);
      const healthy = (r: ResourceRow) => r.status === 'COMPLETE' && r.action !== 'INIT' && r.action !== 'DELETE';
      const current = candidates.find((r) => r.current === 1);
      const same = candidates.find((r) => r.type === type.type && r.properties === propsJson && healthy(r));
      if (same) {
        for (const other of candidates) if (other !== same && !obsolete.includes(other)) await this.retire(run, other, obsolete);
        if (same.current !== 1) {
          same.current = 1;
          await this.store.updateResource(same.id, { current: 1 });
        }
        run.rows.set(name, same);
        return;
      }
      if (current && current.type === type.type && healthy(current) && type.update && current.physical_id !== null) {
        const old = JSON.parse(current.properties) as Record<string, unknown>;
        const changed = Object.keys({ ...old, ...props }).filter((k) => JSON.stringify(old[k]) !== JSON.stringify(props[k]));
        if (changed.every((k) => type.properties[k]?.update_allowed)) {
          await this.resourceState(run, current, 'UPDATE', 'IN_PROGRESS', 'state changed');
          const h = this.handle(run, current);
          try {
            await type.update(h, current.physical_id, props, old, changed);
            if (type.checkUpdateComplete) await this.poll(run, () => type.checkUpdateComplete!(h, current.physical_id!));
            await this.saveData(current, h.data);
            current.properties = propsJson;
            await this.resourceState(run, current, 'UPDATE', 'COMPLETE', 'state changed', { properties: propsJson });
            return;
          } catch (err) {
            if (!(err instanceof ReplaceRequired)) {
              const f = this.failureOf('UPDATE', name, err);
              await this.resourceState(run, current, 'UPDATE', 'FAILED', f.message.replace(/^Resource UPDATE failed: /, ''));
              throw f;
            }
            await this.resourceState(run, current, 'UPDATE', 'COMPLETE', 'Replacing: the update needs a new resource');
          }
        }
      }
      if (current) await this.retire(run, current, obsolete);
      const row = this.newRow(run, name, type, model.definition.metadata);
      run.rows.set(name, row);
      await this.store.insertResource(row);
      await this.createResource(run, name, row);
    };
    const result = await walk(run.model.graph, step, { concurrency: this.options.concurrency, signal: run.signal });
    if (result.failed) return result.failed.error;
    for (const r of run.all) if (!run.model.resources.has(r.name) && !obsolete.includes(r)) obsolete.push(r);
    for (const r of run.all) if (run.model.resources.has(r.name) && run.rows.get(r.name)?.id !== r.id && !obsolete.includes(r)) obsolete.push(r);
    return this.deleteRows(run, obsolete, oldGraph.size ? oldGraph : run.model.graph);
  }

  private async retire(run: Run, row: ResourceRow, obsolete: ResourceRow[]): Promise<void> {
    if (row.current === 1) {
      row.current = 0;
      await this.store.updateResource(row.id, { current: 0 });
    }
    obsolete.push(row);
  }

  private async runSimple(stack: StackRow, action: 'SUSPEND' | 'RESUME' | 'CHECK', signal: AbortSignal, depth: number, from?: Lineage): Promise<void> {
    await this.stackState(stack, action, 'IN_PROGRESS', `Stack ${action} started`);
    let run: Run;
    try {
      run = await this.open(stack, signal, depth, { from });
    } catch (err) {
      await this.stackState(stack, action, 'FAILED', (err as Error).message);
      throw new OperationFailed((err as Error).message);
    }
    const graph = action === 'SUSPEND' ? reverse(run.model.graph) : action === 'RESUME' ? run.model.graph : new Map([...run.model.graph.keys()].map((k) => [k, new Set<string>()]));
    const result = await walk(graph, async (name) => {
      const row = run.rows.get(name);
      if (!row) return;
      const type = this.typeOf(run, row);
      await this.resourceState(run, row, action, 'IN_PROGRESS', 'state changed');
      try {
        await this.refresh(run);
        const h = this.handle(run, row);
        if (row.physical_id) {
          if (action === 'SUSPEND' && type.suspend) {
            await type.suspend(h, row.physical_id);
            if (type.checkSuspendComplete) await this.poll(run, () => type.checkSuspendComplete!(h, row.physical_id!));
          } else if (action === 'RESUME' && type.resume) {
            await type.resume(h, row.physical_id);
            if (type.checkResumeComplete) await this.poll(run, () => type.checkResumeComplete!(h, row.physical_id!));
          } else if (action === 'CHECK' && type.check) {
            await type.check(h, row.physical_id);
          }
        }
        await this.resourceState(run, row, action, 'COMPLETE', 'state changed');
      } catch (err) {
        const f = this.failureOf(action, name, err);
        await this.resourceState(run, row, action, 'FAILED', f.message.replace(new RegExp(`^Resource ${action} failed: `), ''));
        throw f;
      }
    }, { concurrency: this.options.concurrency, signal });
    if (result.failed) {
      await this.stackState(stack, action, 'FAILED', result.failed.error.message);
      throw new OperationFailed(result.failed.error.message);
    }
    await this.stackState(stack, action, 'COMPLETE', `Stack ${action} completed successfully`);
  }

  // ---- resource-level requests from the API

  /** A signal to a resource, acting as `actor` (the user who signalled, or the handle's own token). */
  async signalResource(stack: StackRow, name: string, details: unknown, actor: Actor): Promise<void> {
    const run = await this.open(stack, new AbortController().signal, await this.depthOf(stack), { actor });
    const row = run.rows.get(name);
    if (!row) throw new NotFoundError(`The Resource (${name}) could not be found.`);
    const type = this.typeOf(run, row);
    if (!type.signal) throw new SignalNotSupported(`Signal resource during ${row.action} is not supported: the resource ${name} (${row.type}) takes no signals.`);
    const h = this.handle(run, row);
    await type.signal(h, row.physical_id, details);
    await this.saveData(row, h.data);
    const reason = `Signal: ${typeof details === 'object' && details && 'reason' in details ? String((details as { reason: unknown }).reason) : 'signal received'}`;
    await this.store.insertEvent({ id: randomUUID(), stack_id: stack.id, resource_name: name, resource_type: row.type, physical_id: row.physical_id, action: 'SIGNAL', status: 'COMPLETE', reason, properties: '{}', created_at: now() });
  }

  async markUnhealthy(stack: StackRow, name: string, unhealthy: boolean, reason: string): Promise<void> {
    const rows = await this.store.resources(stack.id);
    const row = rows.find((r) => r.current === 1 && (r.name === name || r.physical_id === name));
    if (!row) throw new NotFoundError(`The Resource (${name}) could not be found.`);
    const run = { stack } as Run;
    if (unhealthy) await this.resourceState(run, row, 'CHECK', 'FAILED', reason || 'Marked unhealthy');
    else if (row.action === 'CHECK' && row.status === 'FAILED') await this.resourceState(run, row, 'CHECK', 'COMPLETE', reason || 'Marked healthy');
  }

  // ---- nested stacks

  private nestedFor(run: Run, row: ResourceRow): NestedStacks {
    const childRun = async (id: string) => {
      const child = await this.store.stack(id);
      if (!child) throw new NotFoundError(`The Stack (${id}) could not be found.`);
      return this.open(child, run.signal, run.depth + 1, { from: run });
    };
    return {
      create: async (spec) => {
        const child: StackRow = {
          id: randomUUID(),
          name: `${run.stack.name}-${row.name}-${shortId()}`.slice(0, 255),
          project_id: run.stack.project_id,
          user_id: run.stack.user_id,
          parent_id: run.stack.id,
          parent_resource: row.name,
          action: 'CREATE',
          status: 'IN_PROGRESS',
          status_reason: 'Stack CREATE started',
          ...specColumns(spec),
          disable_rollback: 1,
          timeout_mins: null,
          tags: null,
          owner_name: run.stack.owner_name,
          trust_id: null,
          previous: null,
          created_at: now(),
          updated_at: null,
        };
        await yieldToOthers();
        const model = buildModel(spec, this.identityOf(child), this.registry, run.depth + 1);
        await this.reserve(run.tree, model.resources.size);
        await yieldToOthers();
        await checkPatterns(model.customChecks);
        await this.store.insertStack(child);
        row.physical_id = child.id;
        await this.store.updateResource(row.id, { physical_id: child.id });
        await this.runCreate(child, run.signal, run.depth + 1, run);
        return child.id;
      },
      update: async (id, spec) => {
        const child = await this.store.stack(id);
        if (!child) throw new NotFoundError(`The Stack (${id}) could not be found.`);
        const previous = specOf(child);
        await yieldToOthers();
        const model = buildModel(spec, this.identityOf(child), this.registry, run.depth + 1);
        await this.reserve(run.tree, model.resources.size - (await this.store.resourceCount(id)));
        await checkPatterns(model.customChecks);
        Object.assign(child, specColumns(spec), { previous: JSON.stringify(previous), action: 'UPDATE', status: 'IN_PROGRESS' });
        await this.store.updateStack(id, { ...specColumns(spec), previous: child.previous });
        await this.runUpdate(child, previous, run.signal, run.depth + 1, run);
      },
      delete: async (id) => {
        const child = await this.store.stack(id);
        if (!child) return;
        const size = await this.store.resourceCount(id);
        await this.runDelete(child, run.signal, run.depth + 1, run);
        await this.reserve(run.tree, -size);
      },
      suspend: async (id) => {
        const child = await this.store.stack(id);
        if (child) await this.runSimple(child, 'SUSPEND', run.signal, run.depth + 1, run);
      },
      resume: async (id) => {
        const child = await this.store.stack(id);
        if (child) await this.runSimple(child, 'RESUME', run.signal, run.depth + 1, run);
      },
      outputs: async (id) => {
        const child = await this.store.stack(id);
        if (!child) return {};
        return Object.fromEntries((await this.outputs(child, run.actor)).map((o) => [o.output_key, o.output_value]));
      },
      references: async (id) => {
        const r = await childRun(id);
        return Object.fromEntries([...r.rows.keys()].map((n) => [n, this.reference(r, n)]));
      },
      attribute: async (id, resource, attribute) => {
        const r = await childRun(id);
        return this.attributeOf(r, resource, attribute);
      },
    };
  }

  // ---- after a restart

  /**
   * Stacks left IN_PROGRESS by a stop or crash: deletes are finished; creates fail and are rolled
   * back unless rollback is disabled; updates fail (and roll back); the rest fail. Nested stacks are
   * handled through their parents.
   */
  async recover(): Promise<void> {
    const stuck = await this.store.inProgressStacks();
    for (const stack of stuck) {
      for (const r of await this.store.resources(stack.id)) {
        if (r.status === 'IN_PROGRESS') await this.store.updateResource(r.id, { status: 'FAILED', status_reason: 'Engine restarted during the operation' });
      }
    }
    for (const stack of stuck.filter((s) => !s.parent_id)) {
      const action = stack.action;
      if (action === 'DELETE') {
        this.delete(stack);
        continue;
      }
      const reason = `Engine restarted during ${action}`;
      if (action === 'CREATE' || (action === 'ROLLBACK' && !stack.previous)) {
        await this.stackState(stack, 'CREATE', 'FAILED', reason);
        if (!stack.disable_rollback) {
          this.begin(stack, 'ROLLBACK', async (signal) => {
            const run = await this.open(stack, signal, 0).catch(async (err: Error) => {
              await this.stackState(stack, 'ROLLBACK', 'FAILED', err.message);
              throw new OperationFailed(err.message);
            });
            await this.rollbackCreate(run);
          });
        }
      } else if (action === 'UPDATE' && stack.previous && !stack.disable_rollback) {
        await this.stackState(stack, 'UPDATE', 'FAILED', reason);
        const previous = JSON.parse(stack.previous) as StackSpec;
        this.begin(stack, 'ROLLBACK', (signal) => this.rollbackUpdate(stack, previous, signal, 0));
      } else {
        await this.stackState(stack, action, 'FAILED', reason);
      }
    }
    for (const child of stuck.filter((s) => s.parent_id && s.action !== 'DELETE')) await this.stackState(child, child.action, 'FAILED', `Engine restarted during ${child.action}`);
  }
}

export class SignalNotSupported extends BadRequestError {
  override readonly name = 'ResourceActionNotSupported';
}
