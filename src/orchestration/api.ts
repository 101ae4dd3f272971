// Heat v1 HTTP routes under /orchestration: version discovery, stacks and their actions, outputs,
// templates, resources, events, validation, resource types, template versions, software configs and
// deployments, and the signal URL of wait condition handles.
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import * as S from './schemas.ts';
import { timingSafeEqual } from 'node:crypto';
import type { HttpServer } from '../platform/http/server.ts';
import { authenticate, contextOf, type TokenValidator } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError, UnauthorizedError } from '../platform/errors.ts';
import type { OrchestrationService } from './service.ts';
import type { StackRow } from './store.ts';
import { eventView, requiredBy, resourceView, stackLink, stackView } from './views.ts';
import { typeSchema } from './resources/types.ts';
import { CFN_VERSIONS, HOT_ALIASES, HOT_VERSIONS } from './template/parse.ts';
import { CFN_FUNCTIONS, FUNCTION_DESCRIPTIONS, functionsFor } from './template/functions.ts';
import { TemplateError } from './template/model.ts';
import { callerActor } from './engine/stack-engine.ts';
import { matchUserPattern } from '../platform/user-pattern.ts';
import type { ConfigBody, DeploymentBody, SoftwareService } from './software/service.ts';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string | string[]>; Body: Record<string, unknown> }>;

const PUBLIC = { config: { public: true } };

export function orchestrationApi(service: OrchestrationService, software: SoftwareService, validator: TokenValidator, publicUrl: string) {
  const root = `${publicUrl}/orchestration`;
  const baseOf = (tenant: string) => `${root}/v1/${tenant}`;

  return async (app: HttpServer) => {
    app.addHook('preHandler', authenticate(validator));
    // heatclient sends JSON bodies on DELETE/GET sometimes; and template bodies may be large.
    // It also sends `Content-Type: application/json` with an empty body (stack delete): no body, not a 400.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (err) {
        done(new BadRequestError(`Malformed JSON in request body: ${(err as Error).message}`), undefined);
      }
    });
    app.get('/', PUBLIC, async (_r, reply) =>
      reply.code(300).send({ versions: [{ id: 'v1.0', status: 'CURRENT', links: [{ href: `${root}/v1/`, rel: 'self' }] }] }),
    );
    app.get('/v1', PUBLIC, async (_r, reply) =>
      reply.code(300).send({ versions: [{ id: 'v1.0', status: 'CURRENT', links: [{ href: `${root}/v1/`, rel: 'self' }] }] }),
    );

    const stackOf = async (request: Req): Promise<StackRow> => {
      const p = request.params;
      return service.find(contextOf(request), p.tenant!, p.sname!, p.sid);
    };
    /** A route on `/stacks/{name or id}/rest` and `/stacks/{name}/{id}/rest`. */
    const both = (method: 'get' | 'post' | 'put' | 'patch' | 'delete', rest: string, schema: FastifySchema, handler: (request: Req, reply: FastifyReply, stack: StackRow) => Promise<unknown>) => {
      for (const path of [`/v1/:tenant/stacks/:sname${rest}`, `/v1/:tenant/stacks/:sname/:sid${rest}`]) {
        app[method](path, { schema }, async (request: Req, reply: FastifyReply) => handler(request, reply, await stackOf(request)));
      }
    };

    // ---- stacks
    app.get('/v1/:tenant/stacks', { schema: { params: S.TenantParams, querystring: S.StackListQuery } }, async (request: Req) => {
      const ctx = contextOf(request);
      const rows = await service.list(ctx, request.params.tenant!, request.query);
      return { stacks: rows.map((s) => stackView(baseOf(request.params.tenant!), s, {})) };
    });
    app.get('/v1/:tenant/stacks/detail', { schema: { params: S.TenantParams, querystring: S.StackListQuery } }, async (request: Req) => {
      const ctx = contextOf(request);
      const rows = await service.list(ctx, request.params.tenant!, request.query);
      return { stacks: rows.map((s) => stackView(baseOf(request.params.tenant!), s, { detail: true })) };
    });
    app.post('/v1/:tenant/stacks', { schema: { params: S.TenantParams, body: S.StackCreateBody } }, async (request: Req, reply) => {
      const row = await service.create(contextOf(request), request.params.tenant!, request.body ?? {});
      reply.code(201).header('location', stackLink(baseOf(request.params.tenant!), row));
      return { stack: { id: row.id, links: [{ href: stackLink(baseOf(request.params.tenant!), row), rel: 'self' }] } };
    });
    app.post('/v1/:tenant/stacks/preview', { schema: { params: S.TenantParams, body: S.StackPreviewBody } }, async (request: Req) => {
      const { row, model } = await service.preview(contextOf(request), request.params.tenant!, request.body ?? {});
      const base = baseOf(request.params.tenant!);
      const req = requiredBy(model);
      const resources = [...model.resources.values()].map((r) => ({
        resource_name: r.name,
        resource_type: r.type.type,
        resource_action: 'INIT',
        resource_status: 'COMPLETE',
        resource_status_reason: '',
        physical_resource_id: '',
        logical_resource_id: r.name,
        required_by: req.get(r.name) ?? [],
        properties: r.definition.properties,
        metadata: r.definition.metadata,
        description: '',
        stack_name: row.name,
        stack_identity: { stack_name: row.name, stack_id: row.id, tenant: row.project_id, path: '' },
        creation_time: null,
        updated_time: null,
      }));
      return { stack: { ...stackView(base, row, { model, detail: true }), resources } };
    });
    // GET /stacks/{name or id}: Heat's lookup, a redirect to the stack's canonical path.
    app.get('/v1/:tenant/stacks/:sname', { schema: { params: S.StackParams } }, async (request: Req, reply) => {
      const stack = await stackOf(request);
      const qs = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      reply.code(302).header('location', `${stackLink(baseOf(request.params.tenant!), stack)}${qs}`).send({ location: stackLink(baseOf(request.params.tenant!), stack) });
    });
    app.get('/v1/:tenant/stacks/:sname/:sid', { schema: { params: S.StackParams, querystring: S.StackShowQuery } }, async (request: Req) => {
      const stack = await stackOf(request);
      // The lookup redirect keeps the query and heatclient sends its params again: the last one counts.
      const rq = request.query.resolve_outputs;
      const resolve = String((Array.isArray(rq) ? rq.at(-1) : rq) ?? 'true').toLowerCase() !== 'false';
      const model = service.engine.modelOf(stack);
      const outputs = resolve ? await service.engine.outputs(stack, callerActor(contextOf(request))) : undefined;
      return { stack: stackView(baseOf(request.params.tenant!), stack, { model, outputs, detail: true }) };
    });
    for (const method of ['put', 'patch'] as const) {
      both(method, '', { params: S.StackParams, body: S.StackUpdateBody }, async (request, reply, stack) => {
        await service.update(contextOf(request), stack, request.body ?? {}, method === 'patch');
        reply.code(202).send();
      });
      both(method, '/preview', { params: S.StackParams, body: S.StackUpdateBody }, async (request, _reply, stack) => ({ resource_changes: await service.previewUpdate(contextOf(request), stack, request.body ?? {}, method === 'patch') }));
    }
    both('delete', '', { params: S.StackParams }, async (request, reply, stack) => {
      await service.delete(contextOf(request), stack);
      reply.code(204).send();
    });
    both('post', '/actions', { params: S.StackParams, body: S.ActionBody }, async (request, reply, stack) => {
      await service.action(contextOf(request), stack, request.body ?? {});
      reply.code(200).send();
    });
    both('delete', '/abandon', { params: S.StackParams }, async () => {
      throw new BadRequestError('Stack abandon is not supported by hafen.');
    });

    // ---- outputs, template, environment, files
    both('get', '/outputs', { params: S.StackParams }, async (request, _r, stack) => {
      service.enforce(contextOf(request), 'stacks:show');
      return { outputs: (await service.engine.outputs(stack, callerActor(contextOf(request)))).map((o) => ({ output_key: o.output_key, description: o.description })) };
    });
    both('get', '/outputs/:key', { params: S.OutputParams }, async (request, _r, stack) => {
      service.enforce(contextOf(request), 'stacks:show');
      const out = (await service.engine.outputs(stack, callerActor(contextOf(request)))).find((o) => o.output_key === request.params.key);
      if (!out) throw new NotFoundError(`Specified output key ${request.params.key} not found.`);
      return { output: out };
    });
    both('get', '/template', { params: S.StackParams }, async (_request, _r, stack) => JSON.parse(stack.template));
    both('get', '/environment', { params: S.StackParams }, async (_request, _r, stack) => JSON.parse(stack.environment));
    both('get', '/files', { params: S.StackParams }, async (_request, _r, stack) => JSON.parse(stack.files));

    // ---- resources
    const resourcesOf = async (stack: StackRow, depth: number, base: string, parentResource: string | null = null): Promise<Record<string, unknown>[]> => {
      const model = service.engine.modelOf(stack);
      const req = requiredBy(model);
      const rows = (await service.store.resources(stack.id)).filter((r) => r.current === 1);
      const out: Record<string, unknown>[] = [];
      for (const r of rows) {
        const child = r.physical_id ? await service.store.stack(r.physical_id) : undefined;
        const nestedId = child && child.parent_id === stack.id ? child.id : undefined;
        out.push(resourceView(base, stack, r, { requiredBy: req.get(r.name), nestedId, nestedName: child?.name, ...(depth >= 0 && parentResource !== null ? { parentResource } : {}) }));
        if (nestedId && depth > 0) out.push(...(await resourcesOf(child!, depth - 1, base, r.name)));
      }
      return out;
    };
    both('get', '/resources', { params: S.StackParams, querystring: S.ResourceListQuery }, async (request, _r, stack) => {
      service.enforce(contextOf(request), 'resources:index');
      const depth = Number(request.query.nested_depth ?? 0);
      if (!Number.isInteger(depth) || depth < 0) throw new BadRequestError(`Invalid nested_depth: ${String(request.query.nested_depth)}`);
      let list = await resourcesOf(stack, depth, baseOf(request.params.tenant!));
      for (const key of ['name', 'type', 'status', 'action', 'id'] as const) {
        const v = request.query[key];
        if (v === undefined) continue;
        const want = (Array.isArray(v) ? v : [v]).map(String);
        const field = { name: 'resource_name', type: 'resource_type', status: 'resource_status', action: 'resource_status', id: 'physical_resource_id' }[key];
        list = list.filter((r) => want.some((w) => (key === 'status' ? String(r[field]).endsWith(`_${w}`) || r[field] === w : key === 'action' ? String(r[field]).startsWith(`${w}_`) : r[field] === w)));
      }
      return { resources: list };
    });
    const resourceRow = async (stack: StackRow, name: string) => {
      const row = (await service.store.resources(stack.id)).find((r) => r.current === 1 && r.name === name);
      if (!row) throw new NotFoundError(`The Resource (${name}) could not be found.`);
      return row;
    };
    both('get', '/resources/:res', { params: S.ResourceParams }, async (request, _r, stack) => {
      service.enforce(contextOf(request), 'resources:show');
      const row = await resourceRow(stack, request.params.res!);
      const model = service.engine.modelOf(stack);
      const attributes = await service.engine.attributesOf(stack, row.name, contextOf(request));
      const desc = model?.resources.get(row.name)?.type.description ?? '';
      const child = row.physical_id ? await service.store.stack(row.physical_id) : undefined;
      const nested = child && child.parent_id === stack.id ? { nestedId: child.id, nestedName: child.name } : {};
      return { resource: resourceView(baseOf(request.params.tenant!), stack, row, { requiredBy: requiredBy(model).get(row.name), attributes, description: desc, ...nested }) };
    });
    both('get', '/resources/:res/metadata', { params: S.ResourceParams }, async (request, _r, stack) => ({ metadata: JSON.parse((await resourceRow(stack, request.params.res!)).metadata) }));
    both('post', '/resources/:res/signal', { params: S.ResourceParams, body: S.SignalBody }, async (request, reply, stack) => {
      await service.signal(contextOf(request), stack, request.params.res!, request.body ?? {});
      reply.code(200).send();
    });
    both('patch', '/resources/:res', { params: S.ResourceParams, body: S.MarkUnhealthyBody }, async (request, reply, stack) => {
      service.enforce(contextOf(request), 'resources:mark_unhealthy');
      const body = request.body ?? {};
      if (typeof body.mark_unhealthy !== 'boolean') throw new BadRequestError('"mark_unhealthy" (a boolean) is required.');
      await service.engine.markUnhealthy(stack, request.params.res!, body.mark_unhealthy, String(body.resource_status_reason ?? ''));
      reply.code(200).send();
    });

    // ---- events
    const eventsOf = async (request: Req, stack: StackRow, resource?: string) => {
      service.enforce(contextOf(request), 'events:index');
      const base = baseOf(request.params.tenant!);
      const depth = Number(request.query.nested_depth ?? 0);
      type Listed = Record<string, unknown> & { _t: string; _seq: number };
      const collect = async (s: StackRow, d: number): Promise<Listed[]> => {
        let rows = await service.store.events(s.id);
        if (resource) rows = rows.filter((e) => e.resource_name === resource);
        const out: Listed[] = rows.map((e) => ({ ...eventView(base, s, e, depth > 0 ? stack : undefined), _t: e.created_at, _seq: e.seq }));
        if (d > 0) for (const child of await service.store.stacks({ parentId: s.id })) out.push(...(await collect(child, d - 1)));
        return out;
      };
      let list = await collect(stack, Number.isInteger(depth) && depth > 0 ? depth : 0);
      if (depth > 0) list.sort((a, b) => (a._t < b._t ? -1 : a._t > b._t ? 1 : a._seq - b._seq));
      const q = request.query;
      const filter = (k: string, field: string, fn: (v: string, w: string) => boolean) => {
        if (q[k] === undefined) return;
        const want = (Array.isArray(q[k]) ? q[k] : [q[k]]).map(String);
        list = list.filter((e) => want.some((w) => fn(String(e[field]), w)));
      };
      filter('resource_action', 'resource_status', (v, w) => v.startsWith(`${w}_`));
      filter('resource_status', 'resource_status', (v, w) => v.endsWith(`_${w}`));
      filter('resource_name', 'resource_name', (v, w) => v === w);
      filter('resource_type', 'resource_type', (v, w) => v === w);
      if (String(q.sort_dir ?? 'asc') === 'desc') list.reverse();
      if (q.marker) {
        const i = list.findIndex((e) => e.id === q.marker);
        if (i < 0) throw new NotFoundError(`The event ${String(q.marker)} could not be found.`);
        list = list.slice(i + 1);
      }
      if (q.limit !== undefined) list = list.slice(0, Number(q.limit));
      return { events: list.map(({ _t, _seq, ...e }) => e) };
    };
    both('get', '/events', { params: S.StackParams, querystring: S.EventListQuery }, async (request, _r, stack) => eventsOf(request, stack));
    both('get', '/resources/:res/events', { params: S.ResourceParams, querystring: S.EventListQuery }, async (request, _r, stack) => eventsOf(request, stack, request.params.res));
    both('get', '/resources/:res/events/:event', { params: S.EventParams, querystring: S.EventListQuery }, async (request, _r, stack) => {
      const { events } = await eventsOf(request, stack, request.params.res);
      const e = events.find((x) => x.id === request.params.event);
      if (!e) throw new NotFoundError(`The event ${request.params.event} could not be found.`);
      return { event: e };
    });

    // ---- validate, resource types, template versions
    app.post('/v1/:tenant/validate', { schema: { params: S.TenantParams, body: S.ValidateBody } }, async (request: Req) => {
      const ctx = contextOf(request);
      service.enforce(ctx, 'stacks:validate');
      const project = service.project(ctx, request.params.tenant!);
      const spec = await service.specFrom(request.body ?? {});
      const model = await service.validateSpec(ctx, spec, { id: 'None', name: 'validate', projectId: project }, true);
      const t = model.template;
      const cfn = t.format === 'cfn';
      const params: Record<string, unknown> = {};
      for (const [name, p] of Object.entries(t.parameters)) {
        const type = cfn ? { string: 'String', number: 'Number', boolean: 'Boolean', json: 'Json', comma_delimited_list: 'CommaDelimitedList' }[p.type] : p.type;
        params[name] = {
          Type: type,
          Description: p.description ?? '',
          Label: p.label ?? name,
          NoEcho: p.hidden ? 'true' : 'false',
          ...(p.default !== undefined ? { Default: p.default } : {}),
          ...(name in spec.parameters ? { Value: spec.parameters[name] } : {}),
          ...(p.constraints.flatMap((c) => (c.allowed_values ? [c.allowed_values] : [])).length ? { AllowedValues: p.constraints.find((c) => c.allowed_values)!.allowed_values } : {}),
        };
      }
      return {
        Description: t.description || 'No description',
        Parameters: params,
        ...(t.parameterGroups.length ? { ParameterGroups: t.parameterGroups } : {}),
        Environment: { parameters: spec.environment.parameters, parameter_defaults: spec.environment.parameter_defaults, resource_registry: spec.environment.resource_registry, event_sinks: [] },
      };
    });
    app.get('/v1/:tenant/resource_types', { schema: { params: S.TenantParams, querystring: S.ResourceTypesQuery } }, async (request: Req) => {
      service.project(contextOf(request), request.params.tenant!);
      let names = service.engine.registry.names();
      const nameFilter = request.query.name;
      if (nameFilter !== undefined) {
        // A user's pattern: RE2, in a worker, with a time limit.
        const hits = await matchUserPattern(String(nameFilter), names, 'find');
        names = names.filter((_n, i) => hits[i]);
      }
      if (String(request.query.with_description ?? '').toLowerCase() === 'true') {
        return { resource_types: names.map((n) => ({ resource_type: n, description: service.engine.registry.get(n)!.description })) };
      }
      return { resource_types: names };
    });
    app.get('/v1/:tenant/resource_types/:type', { schema: { params: S.TypeParams } }, async (request: Req) => {
      const t = service.engine.registry.get(request.params.type!);
      if (!t) throw new NotFoundError(`The Resource Type (${request.params.type}) could not be found.`);
      return typeSchema(t);
    });
    app.get('/v1/:tenant/resource_types/:type/template', { schema: { params: S.TypeParams, querystring: S.TypeTemplateQuery } }, async (request: Req) => {
      const t = service.engine.registry.get(request.params.type!);
      if (!t) throw new NotFoundError(`The Resource Type (${request.params.type}) could not be found.`);
      const hot = String(request.query.template_type ?? 'cfn') === 'hot';
      const props = Object.fromEntries(Object.keys(t.properties).map((p) => [p, hot ? { get_param: p } : { Ref: p }]));
      const params = Object.fromEntries(Object.entries(t.properties).map(([p, s]) => [p, hot ? { type: s.type === 'integer' ? 'number' : s.type === 'list' ? 'comma_delimited_list' : s.type === 'map' ? 'json' : s.type === 'any' ? 'string' : s.type, description: s.description ?? '' } : { Type: 'String', Description: s.description ?? '' }]));
      // Heat names the resource after the type's last segment (OS::Nova::Server -> Server).
      const name = t.type.split('::').at(-1) || 'resource';
      const outputs = Object.fromEntries(Object.entries(t.attributes).map(([a, s]) => [a, hot ? { description: s.description, value: { get_attr: [name, a] } } : { Description: s.description, Value: { 'Fn::GetAtt': [name, a] } }]));
      return hot
        ? { heat_template_version: '2016-10-14', description: `Initial template of ${name}`, parameters: params, resources: { [name]: { type: t.type, properties: props } }, outputs }
        : { HeatTemplateFormatVersion: '2012-12-12', Description: `Initial template of ${name}`, Parameters: params, Resources: { [name]: { Type: t.type, Properties: props } }, Outputs: outputs };
    });
    app.get('/v1/:tenant/template_versions', { schema: { params: S.TenantParams } }, async (request: Req) => {
      service.project(contextOf(request), request.params.tenant!);
      const aliases = (v: string) => Object.entries(HOT_ALIASES).filter(([, d]) => d === v).map(([a]) => `heat_template_version.${a}`);
      return {
        template_versions: [
          ...CFN_VERSIONS.map((v) => ({ version: `AWSTemplateFormatVersion.${v}`, type: 'cfn', aliases: [] })),
          ...HOT_VERSIONS.map((v) => ({ version: `heat_template_version.${v}`, type: 'hot', aliases: aliases(v) })),
        ],
      };
    });
    app.get('/v1/:tenant/template_versions/:version/functions', { schema: { params: S.VersionParams, querystring: S.FunctionsQuery } }, async (request: Req) => {
      const m = /^(heat_template_version|AWSTemplateFormatVersion|HeatTemplateFormatVersion)\.(.+)$/.exec(request.params.version!);
      if (!m) throw new NotFoundError(`Template version ${request.params.version} could not be found.`);
      const format = m[1] === 'heat_template_version' ? 'hot' : 'cfn';
      const version = format === 'hot' ? (HOT_ALIASES[m[2]!] ?? m[2]!) : m[2]!;
      if (format === 'hot' ? !HOT_VERSIONS.includes(version) : !CFN_VERSIONS.includes(version) && version !== '2012-12-12') throw new NotFoundError(`Template version ${request.params.version} could not be found.`);
      const conditions = String(request.query.with_condition_func ?? '').toLowerCase() === 'true';
      const set = functionsFor({ format, version });
      const names = conditions ? set.conditions : set.functions;
      return { template_functions: names.map((n) => ({ functions: n, description: FUNCTION_DESCRIPTIONS[n] ?? (CFN_FUNCTIONS.includes(n) ? `CloudFormation function ${n}.` : '') })) };
    });
    app.get('/v1/:tenant/build_info', { schema: { params: S.TenantParams } }, async () => ({ api: { revision: 'hafen' }, engine: { revision: 'hafen' } }));

    // ---- software configs and deployments
    app.post('/v1/:tenant/software_configs', { schema: { params: S.TenantParams, body: S.SoftwareConfigBody } }, async (request: Req) => ({
      software_config: await software.createConfig(contextOf(request), (request.body ?? {}) as ConfigBody, request.params.tenant!),
    }));
    app.get('/v1/:tenant/software_configs', { schema: { params: S.TenantParams, querystring: S.SoftwareConfigListQuery } }, async (request: Req) => ({
      software_configs: await software.listConfigs(contextOf(request), request.params.tenant!, request.query as { limit?: string; marker?: string }),
    }));
    app.get('/v1/:tenant/software_configs/:config', { schema: { params: S.SoftwareConfigParams } }, async (request: Req) => ({
      software_config: await software.showConfig(contextOf(request), request.params.config!, request.params.tenant!),
    }));
    app.delete('/v1/:tenant/software_configs/:config', { schema: { params: S.SoftwareConfigParams } }, async (request: Req, reply) => {
      await software.deleteConfig(contextOf(request), request.params.config!, request.params.tenant!);
      reply.code(204).send();
    });
    app.post('/v1/:tenant/software_deployments', { schema: { params: S.TenantParams, body: S.SoftwareDeploymentCreateBody } }, async (request: Req) => ({
      software_deployment: await software.createDeployment(contextOf(request), (request.body ?? {}) as DeploymentBody, undefined, request.params.tenant!),
    }));
    app.get('/v1/:tenant/software_deployments', { schema: { params: S.TenantParams, querystring: S.SoftwareDeploymentListQuery } }, async (request: Req) => ({
      software_deployments: await software.listDeployments(contextOf(request), request.params.tenant!, request.query as { server_id?: string }),
    }));
    app.get('/v1/:tenant/software_deployments/metadata/:server', { schema: { params: S.SoftwareServerParams } }, async (request: Req) => ({
      metadata: await software.metadata(contextOf(request), request.params.tenant!, request.params.server!),
    }));
    app.get('/v1/:tenant/software_deployments/:deployment', { schema: { params: S.SoftwareDeploymentParams } }, async (request: Req) => ({
      software_deployment: await software.showDeployment(contextOf(request), request.params.deployment!, request.params.tenant!),
    }));
    app.put('/v1/:tenant/software_deployments/:deployment', { schema: { params: S.SoftwareDeploymentParams, body: S.SoftwareDeploymentUpdateBody } }, async (request: Req) => ({
      software_deployment: await software.updateDeployment(contextOf(request), request.params.deployment!, (request.body ?? {}) as DeploymentBody, undefined, request.params.tenant!),
    }));
    app.delete('/v1/:tenant/software_deployments/:deployment', { schema: { params: S.SoftwareDeploymentParams } }, async (request: Req, reply) => {
      await software.deleteDeployment(contextOf(request), request.params.deployment!, request.params.tenant!);
      reply.code(204).send();
    });
    app.get('/v1/:tenant/services', { schema: { params: S.TenantParams } }, async () => ({ services: [] }));

    // ---- wait condition handle signals: authenticated by the handle's own token, not Keystone's
    app.post('/v1/signal/:handle', { ...PUBLIC, schema: { params: S.HandleParams, querystring: S.SignalQuery, body: S.SignalBody } }, async (request: Req, reply) => {
      const token = String(request.headers['x-auth-token'] ?? (request.query.token as string | undefined) ?? '');
      const found = await service.findHandle(request.params.handle!);
      if (!found || !token || !sameSecret(String(found.data.secret ?? ''), token)) throw new UnauthorizedError('The signal token is not valid for this handle.');
      await service.signalByHandle(found.stack, found.name, request.body ?? {});
      reply.code(200).send();
    });
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export { TemplateError };
