// Heat's software configuration API: configs (immutable scripts with declared inputs and outputs)
// and deployments of them to servers. A deployment of a `script` config is run by hafen itself in
// the server's container through compute's exec, as the user who asked (through a delegation when
// the request is gone), and its result comes back as Heat's signal would: deploy_stdout,
// deploy_stderr, deploy_status_code and the declared outputs. Other groups wait for a signal (PUT).
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../platform/auth/context.ts';
import type { PolicyEngine } from '../../platform/auth/policy.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, isNotFound } from '../../platform/errors.ts';
import type { Clients } from '../clients.ts';
import type { DeploymentStatus, SoftwareConfigRow, SoftwareDeploymentRow, SoftwareStore } from './store.ts';
import { MAX_CONFIG_BYTES, MAX_INPUTS, MAX_INPUT_BYTES, MAX_OUTPUTS, SHELL_NAME, parseScriptOutput, scriptCommand, type ScriptResult } from './runner.ts';

type Body = Record<string, unknown>;

/** How long a script may run before its deployment fails (the process is left to end on its own). */
const DEFAULT_RUN_MS = 10 * 60_000;

export interface SoftwareInput {
  name: string;
  type: string;
  description: string | null;
  default: unknown;
  replace_on_change: boolean;
  value?: unknown;
}

export interface SoftwareOutput {
  name: string;
  type: string;
  description: string | null;
  error_output: boolean;
}

export interface ConfigBody {
  name?: string;
  group?: string;
  config?: string;
  inputs?: unknown[];
  outputs?: unknown[];
  options?: Record<string, unknown> | null;
}

export interface DeploymentBody {
  config_id?: string;
  server_id?: string;
  action?: string;
  status?: string;
  status_reason?: string;
  input_values?: Record<string, unknown> | null;
  output_values?: Record<string, unknown> | null;
}

/** Who a run acts as: asked right before the exec, so a lost role stops it. */
export type RunActor = () => Promise<RequestContext>;

/** What the stack resources (SoftwareConfig, SoftwareDeployment) ask of this service. */
export interface SoftwareClient {
  createConfig(ctx: RequestContext, body: ConfigBody): Promise<Body>;
  showConfig(ctx: RequestContext, id: string): Promise<Body>;
  deleteConfig(ctx: RequestContext, id: string): Promise<void>;
  createDeployment(ctx: RequestContext, body: DeploymentBody, actor?: RunActor): Promise<Body>;
  showDeployment(ctx: RequestContext, id: string): Promise<Body>;
  updateDeployment(ctx: RequestContext, id: string, body: DeploymentBody, actor?: RunActor): Promise<Body>;
  deleteDeployment(ctx: RequestContext, id: string): Promise<void>;
}

const iso = (s: string | null) => (s ? s.replace(/\.\d+Z$/, 'Z') : null);

function str(v: unknown, at: string, max = 255): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BadRequestError(`${at}: must be a string.`);
  if (Buffer.byteLength(v) > max) throw new BadRequestError(`${at}: longer than ${max} bytes.`);
  return v;
}

function normalInputs(v: unknown): SoftwareInput[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadRequestError('inputs: must be a list.');
  if (v.length > MAX_INPUTS) throw new BadRequestError(`inputs: at most ${MAX_INPUTS}.`);
  return v.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new BadRequestError(`inputs[${i}]: must be a map.`);
    const o = raw as Body;
    const name = str(o.name, `inputs[${i}].name`);
    if (!name) throw new BadRequestError(`inputs[${i}]: Property name not assigned`);
    const input: SoftwareInput = { name, type: str(o.type, `inputs[${i}].type`) ?? 'String', description: str(o.description, `inputs[${i}].description`, 4096) ?? null, default: o.default ?? null, replace_on_change: o.replace_on_change === true };
    if ('value' in o) input.value = o.value;
    for (const x of [input.default, input.value]) {
      if (x !== undefined && x !== null && Buffer.byteLength(typeof x === 'string' ? x : JSON.stringify(x)) > MAX_INPUT_BYTES) throw new BadRequestError(`inputs[${i}]: a value is longer than ${MAX_INPUT_BYTES} bytes.`);
    }
    return input;
  });
}

function normalOutputs(v: unknown): SoftwareOutput[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadRequestError('outputs: must be a list.');
  if (v.length > MAX_OUTPUTS) throw new BadRequestError(`outputs: at most ${MAX_OUTPUTS}.`);
  return v.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new BadRequestError(`outputs[${i}]: must be a map.`);
    const o = raw as Body;
    const name = str(o.name, `outputs[${i}].name`);
    if (!name) throw new BadRequestError(`outputs[${i}]: Property name not assigned`);
    return { name, type: str(o.type, `outputs[${i}].type`) ?? 'String', description: str(o.description, `outputs[${i}].description`, 4096) ?? null, error_output: o.error_output === true };
  });
}

function valuesMap(v: unknown, at: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new BadRequestError(`${at}: must be a map.`);
  const m = v as Record<string, unknown>;
  if (Object.keys(m).length > MAX_INPUTS * 2) throw new BadRequestError(`${at}: at most ${MAX_INPUTS * 2} values.`);
  if (Buffer.byteLength(JSON.stringify(m)) > 4 * 1024 * 1024) throw new BadRequestError(`${at}: larger than 4 MiB.`);
  return m;
}

const STATUSES: DeploymentStatus[] = ['IN_PROGRESS', 'COMPLETE', 'FAILED'];

export function configView(r: SoftwareConfigRow): Body {
  return {
    id: r.id,
    name: r.name,
    group: r.group,
    config: r.config,
    inputs: JSON.parse(r.inputs),
    outputs: JSON.parse(r.outputs),
    options: JSON.parse(r.options),
    creation_time: iso(r.created_at),
  };
}

export function deploymentView(r: SoftwareDeploymentRow): Body {
  return {
    id: r.id,
    config_id: r.config_id,
    server_id: r.server_id,
    input_values: JSON.parse(r.input_values),
    output_values: r.output_values === null ? null : JSON.parse(r.output_values),
    action: r.action,
    status: r.status,
    status_reason: r.status_reason,
    creation_time: iso(r.created_at),
    updated_time: iso(r.updated_at),
  };
}

/** The env value of an input: strings as they are, anything else as JSON. */
const envValue = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

export class SoftwareService implements SoftwareClient {
  /** Runs under way, by deployment id (their end is awaited on stop). */
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly store: SoftwareStore,
    private readonly policy: PolicyEngine,
    private readonly clients: Pick<Clients, 'compute' | 'identity'>,
    private readonly options: { runMs?: number; log?: (msg: string) => void } = {},
  ) {}

  private enforce(ctx: RequestContext, action: string): void {
    this.policy.enforce(`orchestration:${action}`, ctx, {});
  }

  /** The caller's project; a path naming another answers 404, as an unknown one. */
  project(ctx: RequestContext, tenant?: string): string {
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Orchestration requires a project-scoped token.');
    if (tenant !== undefined && tenant !== ctx.scope.projectId) throw new NotFoundError(`The project ${tenant} could not be found.`);
    return ctx.scope.projectId;
  }

  /** At start: script runs a stop or crash cut short end FAILED (nothing is left running them). */
  async recover(): Promise<void> {
    for (const d of await this.store.inProgressDeployments()) {
      const config = await this.store.config(d.project_id, d.config_id);
      if (config?.group !== 'script') continue;
      await this.store.updateDeployment(d.id, { status: 'FAILED', status_reason: 'The deployment was cut short by a restart of the orchestration service.', updated_at: new Date().toISOString(), generation: d.generation + 1 }, d.generation);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running.values()]);
  }

  // ---- configs

  private async configRow(ctx: RequestContext, id: string): Promise<SoftwareConfigRow> {
    const row = await this.store.config(this.project(ctx), id);
    if (!row) throw new NotFoundError(`Software config with id ${id} not found`);
    return row;
  }

  async createConfig(ctx: RequestContext, body: ConfigBody, tenant?: string): Promise<Body> {
    this.enforce(ctx, 'software_configs:create');
    const project = this.project(ctx, tenant);
    const config = str(body.config, 'config', MAX_CONFIG_BYTES) ?? '';
    if (body.options !== undefined && body.options !== null && (typeof body.options !== 'object' || Array.isArray(body.options))) throw new BadRequestError('options: must be a map.');
    const row: SoftwareConfigRow = {
      id: randomUUID(),
      project_id: project,
      name: str(body.name, 'name') ?? '',
      group: str(body.group, 'group') ?? 'Heat::Ungrouped',
      config,
      inputs: JSON.stringify(normalInputs(body.inputs)),
      outputs: JSON.stringify(normalOutputs(body.outputs)),
      options: JSON.stringify(body.options ?? {}),
      created_at: new Date().toISOString(),
    };
    if (Buffer.byteLength(row.options) > 64 * 1024) throw new BadRequestError('options: larger than 64 KiB.');
    await this.store.insertConfig(row);
    return configView(row);
  }

  async listConfigs(ctx: RequestContext, tenant: string, q: { limit?: string; marker?: string }): Promise<Body[]> {
    this.enforce(ctx, 'software_configs:index');
    const project = this.project(ctx, tenant);
    const limit = Math.min(q.limit === undefined ? 1000 : Number(q.limit), 1000);
    if (!Number.isInteger(limit) || limit < 0) throw new BadRequestError('limit: must be a non-negative integer.');
    const marker = q.marker ? await this.store.config(project, q.marker) : undefined;
    if (q.marker && !marker) throw new NotFoundError(`Software config with id ${q.marker} not found`);
    return (await this.store.configs(project, { limit, marker })).map((r) => ({ id: r.id, name: r.name, group: r.group, creation_time: iso(r.created_at) }));
  }

  async showConfig(ctx: RequestContext, id: string, tenant?: string): Promise<Body> {
    this.enforce(ctx, 'software_configs:show');
    this.project(ctx, tenant);
    return configView(await this.configRow(ctx, id));
  }

  async deleteConfig(ctx: RequestContext, id: string, tenant?: string): Promise<void> {
    this.enforce(ctx, 'software_configs:delete');
    const project = this.project(ctx, tenant);
    await this.configRow(ctx, id);
    if (await this.store.deploymentsUsing(id)) throw new ConflictError(`Software config ${id} is used by a deployment; delete the deployment first.`);
    if (!(await this.store.deleteConfig(project, id))) throw new NotFoundError(`Software config with id ${id} not found`);
  }

  // ---- deployments

  private async deploymentRow(ctx: RequestContext, id: string): Promise<SoftwareDeploymentRow> {
    const row = await this.store.deployment(this.project(ctx), id);
    if (!row) throw new NotFoundError(`Deployment with id ${id} not found`);
    return row;
  }

  /** A server of the caller's project (another project's is as unknown). */
  private async checkServer(ctx: RequestContext, serverId: string): Promise<void> {
    try {
      const s = await this.clients.compute.show(ctx, serverId);
      if (s.projectId === this.project(ctx)) return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    throw new NotFoundError(`The server (${serverId}) could not be found.`);
  }

  private status(v: unknown): DeploymentStatus | undefined {
    if (v === undefined || v === null) return undefined;
    if (!STATUSES.includes(v as DeploymentStatus)) throw new BadRequestError(`status: "${String(v)}" is not one of ${STATUSES.join(', ')}.`);
    return v as DeploymentStatus;
  }

  async createDeployment(ctx: RequestContext, body: DeploymentBody, actor?: RunActor, tenant?: string): Promise<Body> {
    this.enforce(ctx, 'software_deployments:create');
    const project = this.project(ctx, tenant);
    const configId = str(body.config_id, 'config_id', 64);
    const serverId = str(body.server_id, 'server_id', 64);
    if (!configId) throw new BadRequestError('config_id: required.');
    if (!serverId) throw new BadRequestError('server_id: required.');
    const config = await this.configRow(ctx, configId);
    await this.checkServer(ctx, serverId);
    const t = new Date().toISOString();
    const row: SoftwareDeploymentRow = {
      id: randomUUID(),
      project_id: project,
      config_id: config.id,
      server_id: serverId,
      action: str(body.action, 'action', 64) ?? 'INIT',
      status: this.status(body.status) ?? 'IN_PROGRESS',
      status_reason: str(body.status_reason, 'status_reason', 4096) ?? '',
      input_values: JSON.stringify(valuesMap(body.input_values, 'input_values')),
      output_values: body.output_values ? JSON.stringify(valuesMap(body.output_values, 'output_values')) : null,
      generation: 0,
      created_at: t,
      updated_at: null,
    };
    if (row.status === 'IN_PROGRESS' && config.group === 'script' && !row.status_reason) row.status_reason = 'Deploy data available';
    await this.store.insertDeployment(row);
    if (row.status === 'IN_PROGRESS' && config.group === 'script') await this.start(ctx, row, config, actor);
    return deploymentView(row);
  }

  async listDeployments(ctx: RequestContext, tenant: string, q: { server_id?: string }): Promise<Body[]> {
    this.enforce(ctx, 'software_deployments:index');
    const project = this.project(ctx, tenant);
    return (await this.store.deployments(project, q.server_id)).map(deploymentView);
  }

  async showDeployment(ctx: RequestContext, id: string, tenant?: string): Promise<Body> {
    this.enforce(ctx, 'software_deployments:show');
    this.project(ctx, tenant);
    return deploymentView(await this.deploymentRow(ctx, id));
  }

  /**
   * Changes a deployment. `output_values` with a status is a signal (what a server's agent sends);
   * a status of IN_PROGRESS on a `script` config runs it again.
   */
  async updateDeployment(ctx: RequestContext, id: string, body: DeploymentBody, actor?: RunActor, tenant?: string): Promise<Body> {
    this.enforce(ctx, 'software_deployments:update');
    this.project(ctx, tenant);
    const row = await this.deploymentRow(ctx, id);
    const fields: Partial<SoftwareDeploymentRow> = { updated_at: new Date().toISOString(), generation: row.generation + 1 };
    const configId = str(body.config_id, 'config_id', 64);
    const config = await this.configRow(ctx, configId ?? row.config_id);
    if (configId) fields.config_id = config.id;
    if (body.action !== undefined) fields.action = str(body.action, 'action', 64) ?? row.action;
    const status = this.status(body.status);
    if (status) fields.status = status;
    if (body.status_reason !== undefined) fields.status_reason = str(body.status_reason, 'status_reason', 4096) ?? '';
    if (body.input_values !== undefined) fields.input_values = JSON.stringify(valuesMap(body.input_values, 'input_values'));
    if (body.output_values !== undefined) fields.output_values = body.output_values === null ? null : JSON.stringify(valuesMap(body.output_values, 'output_values'));
    if (body.output_values && status === undefined) Object.assign(fields, this.signalled(config, body.output_values));
    if (!(await this.store.updateDeployment(id, fields, row.generation))) throw new ConflictError(`Deployment ${id} changed meanwhile; try again.`);
    const updated = { ...row, ...fields } as SoftwareDeploymentRow;
    if (status === 'IN_PROGRESS' && config.group === 'script') await this.start(ctx, updated, config, actor);
    return deploymentView(updated);
  }

  async deleteDeployment(ctx: RequestContext, id: string, tenant?: string): Promise<void> {
    this.enforce(ctx, 'software_deployments:delete');
    const project = this.project(ctx, tenant);
    await this.deploymentRow(ctx, id);
    if (!(await this.store.deleteDeployment(project, id))) throw new NotFoundError(`Deployment with id ${id} not found`);
  }

  /** The configs deployed to a server, with their inputs' values: what a server's agent reads. */
  async metadata(ctx: RequestContext, tenant: string, serverId: string): Promise<Body[]> {
    this.enforce(ctx, 'software_deployments:metadata');
    const project = this.project(ctx, tenant);
    const deployments = await this.store.deployments(project, serverId);
    const configs = new Map((await this.store.configsByIds(project, [...new Set(deployments.map((d) => d.config_id))])).map((c) => [c.id, c]));
    const out: Body[] = [];
    for (const d of deployments) {
      const c = configs.get(d.config_id);
      if (!c) continue;
      const values = JSON.parse(d.input_values) as Record<string, unknown>;
      const inputs = (JSON.parse(c.inputs) as SoftwareInput[]).map((i) => (i.name in values ? { ...i, value: values[i.name] } : i));
      out.push({ ...configView(c), inputs, creation_time: iso(d.created_at), updated_time: iso(d.updated_at) });
    }
    return out.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }

  // ---- running scripts

  /** Status and reason from a signal's values, as Heat judges them. */
  private signalled(config: SoftwareConfigRow, values: Record<string, unknown>): Pick<SoftwareDeploymentRow, 'status' | 'status_reason'> {
    const code = values.deploy_status_code;
    if (code !== undefined && code !== null && Number(code) !== 0) {
      return { status: 'FAILED', status_reason: `deploy_status_code : Deployment exited with non-zero status code: ${String(code)}` };
    }
    for (const o of JSON.parse(config.outputs) as SoftwareOutput[]) {
      const v = values[o.name];
      if (o.error_output && v !== undefined && v !== null && v !== '') return { status: 'FAILED', status_reason: `${o.name} : ${envValue(v)}` };
    }
    return { status: 'COMPLETE', status_reason: 'Outputs received' };
  }

  /**
   * Starts the run of a deployment. Without an actor (an API request), the run acts through a
   * delegation of the caller's roles, made now and deleted when the run ends.
   */
  private async start(ctx: RequestContext, row: SoftwareDeploymentRow, config: SoftwareConfigRow, actor?: RunActor): Promise<void> {
    if (this.stopped) return;
    let trustId: string | undefined;
    let act = actor;
    if (!act) {
      try {
        trustId = (await this.clients.identity.createDelegation(ctx, {})).trustId;
      } catch (err) {
        // Nothing will run it: the deployment does not stay IN_PROGRESS.
        await this.store.updateDeployment(row.id, { status: 'FAILED', status_reason: `The deployment could not act for its user: ${(err as Error).message}`, updated_at: new Date().toISOString() }, row.generation);
        throw err;
      }
      const id = trustId;
      act = () => this.clients.identity.contextOfDelegation(id);
    }
    const run = this.run(row, config, act).finally(async () => {
      if (this.running.get(row.id) === run) this.running.delete(row.id);
      if (trustId) await this.clients.identity.deleteDelegation(trustId).catch(() => undefined);
    });
    this.running.set(row.id, run);
  }

  private async run(row: SoftwareDeploymentRow, config: SoftwareConfigRow, actor: RunActor): Promise<void> {
    const generation = row.generation;
    const finish = async (fields: Partial<SoftwareDeploymentRow>) => {
      await this.store.updateDeployment(row.id, { ...fields, updated_at: new Date().toISOString() }, generation);
    };
    try {
      const inputs = JSON.parse(config.inputs) as SoftwareInput[];
      const values = JSON.parse(row.input_values) as Record<string, unknown>;
      const env: Record<string, string> = {};
      for (const i of inputs) env[i.name] = envValue(i.name in values ? values[i.name] : i.value !== undefined ? i.value : i.default);
      for (const [k, v] of Object.entries(values)) if (!(k in env)) env[k] = envValue(v);
      for (const [k, v] of Object.entries(env)) {
        if (!SHELL_NAME.test(k)) delete env[k];
        else if (Buffer.byteLength(v) > MAX_INPUT_BYTES) throw new BadRequestError(`Input ${k} is longer than ${MAX_INPUT_BYTES} bytes.`);
      }
      if (Object.keys(env).length > MAX_INPUTS + 8) throw new BadRequestError(`A script takes at most ${MAX_INPUTS + 8} inputs.`);
      env.deploy_server_id ??= row.server_id;
      env.deploy_action ??= row.action;
      const outputs = (JSON.parse(config.outputs) as SoftwareOutput[]).map((o) => o.name);
      const command = scriptCommand({ config: config.config, env, outputs });
      const ctx = await actor();
      const verbs = await this.clients.compute.verbs(ctx, row.server_id, 'server');
      const ms = this.options.runMs ?? DEFAULT_RUN_MS;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
      const exec = verbs.exec(command.argv, { maxOutputBytes: command.maxOutputBytes });
      exec.catch(() => undefined);
      const done = await Promise.race([exec, timedOut]).finally(() => clearTimeout(timer));
      if (done === 'timeout') {
        await finish({ status: 'FAILED', status_reason: `Deployment timed out: the script ran longer than ${Math.round(ms / 1000)} s.` });
        return;
      }
      const result: ScriptResult | undefined = parseScriptOutput(done.output, command.mark);
      if (!result) {
        const said = done.output.toString('utf8').trim().slice(-2000);
        await finish({ status: 'FAILED', status_reason: `The script could not be run in the server (exit code ${done.exitCode}): ${said || 'no output'}`, output_values: JSON.stringify({ deploy_stdout: '', deploy_stderr: said, deploy_status_code: done.exitCode }) });
        return;
      }
      const values2: Record<string, unknown> = { deploy_stdout: result.stdout, deploy_stderr: result.stderr, deploy_status_code: result.statusCode, ...result.outputs };
      await finish({ ...this.signalled(config, values2), output_values: JSON.stringify(values2) });
    } catch (err) {
      this.options.log?.(`software deployment ${row.id}: ${(err as Error).message}`);
      await finish({ status: 'FAILED', status_reason: `${(err as Error).name === 'Error' ? 'Error' : (err as Error).name}: ${(err as Error).message}` }).catch(() => undefined);
    }
  }
}
