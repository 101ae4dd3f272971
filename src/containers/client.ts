// The container service's narrow interface for other services (orchestration's OS::Zun::Container):
// Zun's create, show, update, delete and network attach/detach in Zun's wire bodies, through the
// same checks, policy, quotas and project scoping as Zun's API. Bodies are checked against the
// routes' own schemas, so another service cannot hand the service what a request could not.
import { Ajv, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import type { RequestContext } from '../platform/auth/context.ts';
import type { ContainerService } from './containers.ts';
import type { ZunCore } from './core.ts';
import { ValidationError } from './errors.ts';
import type { Networking } from './networking.ts';
import * as S from './schemas.ts';

/** A container as Zun's API shows it (`GET /v1/containers/{uuid}`). */
export type ZunContainerView = Record<string, unknown> & { uuid: string; name: string; status: string; status_reason: string | null; interactive: boolean };

export interface ContainersClient {
  /** POST /v1/containers (`run` starts it) at Zun microversion 1.`minor`; answers the container as created. */
  create(ctx: RequestContext, body: Record<string, unknown>, opts: { run: boolean; minor: number }, requestId: string): Promise<ZunContainerView>;
  /** By uuid or name in the caller's project; NotFoundError (ContainerNotFound) otherwise. */
  show(ctx: RequestContext, ident: string): Promise<ZunContainerView>;
  /** PATCH: name, cpu, memory. */
  update(ctx: RequestContext, ident: string, patch: Record<string, unknown>, requestId: string): Promise<ZunContainerView>;
  /** DELETE with `stop` (a running container is stopped and removed); the removal finishes after it answers. */
  delete(ctx: RequestContext, ident: string, opts: { stop: boolean }, requestId: string): Promise<void>;
  /** The container's ports (network_list at 1.18): net_id, port_id, fixed_ips. */
  networks(ctx: RequestContext, ident: string): Promise<Record<string, unknown>[]>;
  attachNetwork(ctx: RequestContext, ident: string, q: { network?: string; port?: string; fixed_ip?: string }, requestId: string): Promise<void>;
  detachNetwork(ctx: RequestContext, ident: string, q: { network?: string; port?: string }, requestId: string): Promise<void>;
}

const ajv = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false, formats: { ipv4: /^(\d{1,3}\.){3}\d{1,3}$/ } });

function checker<T extends TSchema>(schema: T): (body: unknown) => void {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body) => {
    if (validate(body)) return;
    const e = validate.errors?.[0];
    const field = (e?.instancePath ?? '').split('/').filter(Boolean).join('.');
    if (e?.keyword === 'additionalProperties') throw new ValidationError(`Additional properties are not allowed ('${String(e.params.additionalProperty)}' was unexpected)`);
    throw new ValidationError(`Invalid input for field/attribute ${field || 'body'}. ${e?.message ?? ''}`.trim());
  };
}

const checkCreate = checker(S.ContainerCreate);
const checkUpdate = checker(S.ContainerUpdate);
const checkAttach = checker(S.NetworkAttachQuery);
const checkDetach = checker(S.NetworkDetachQuery);

export function createContainersClient(parts: { core: ZunCore; containers: ContainerService; networking: Networking }): ContainersClient {
  const { core, containers, networking } = parts;
  const view = async (ctx: RequestContext, l: Parameters<ZunCore['view']>[1]) => (await core.view(ctx, l)) as ZunContainerView;
  return {
    async create(ctx, body, opts, requestId) {
      checkCreate(body);
      return view(ctx, await containers.create(ctx, body as S.ContainerCreateT, opts.run, opts.minor, requestId));
    },
    show: async (ctx, ident) => view(ctx, await containers.show(ctx, ident, false)),
    async update(ctx, ident, patch, requestId) {
      checkUpdate(patch);
      return view(ctx, await containers.update(ctx, ident, patch as S.ContainerUpdateT, requestId));
    },
    delete: (ctx, ident, opts, requestId) => containers.delete(ctx, ident, { force: false, stop: opts.stop, allProjects: false }, 40, requestId),
    networks: (ctx, ident) => networking.list(ctx, ident, 18),
    async attachNetwork(ctx, ident, q, requestId) {
      checkAttach(q);
      await networking.attach(ctx, ident, q, requestId);
    },
    async detachNetwork(ctx, ident, q, requestId) {
      checkDetach(q);
      await networking.detach(ctx, ident, q, requestId);
    },
  };
}

/** The client before the service exists (orchestration is made first): calls wait for `provide`. */
export function deferredContainersClient(): { client: ContainersClient; provide(real: ContainersClient): void } {
  let provide!: (real: ContainersClient) => void;
  const ready = new Promise<ContainersClient>((resolve) => (provide = resolve));
  return {
    client: {
      create: async (ctx, body, opts, requestId) => (await ready).create(ctx, body, opts, requestId),
      show: async (ctx, ident) => (await ready).show(ctx, ident),
      update: async (ctx, ident, patch, requestId) => (await ready).update(ctx, ident, patch, requestId),
      delete: async (ctx, ident, opts, requestId) => (await ready).delete(ctx, ident, opts, requestId),
      networks: async (ctx, ident) => (await ready).networks(ctx, ident),
      attachNetwork: async (ctx, ident, q, requestId) => (await ready).attachNetwork(ctx, ident, q, requestId),
      detachNetwork: async (ctx, ident, q, requestId) => (await ready).detachNetwork(ctx, ident, q, requestId),
    },
    provide,
  };
}
