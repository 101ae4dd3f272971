// How stacks, resources and events look on the wire (Heat v1 field names and links).
import type { EventRow, ResourceRow, StackRow } from './store.ts';
import type { StackModel } from './engine/model.ts';
import { displayParameters } from './template/parameters.ts';
import { reverse } from './engine/graph.ts';

export const heatTime = (iso: string | null): string | null => (iso ? iso.replace(/\.\d+Z$/, 'Z') : null);

export function stackLink(base: string, s: Pick<StackRow, 'name' | 'id'>): string {
  return `${base}/stacks/${encodeURIComponent(s.name)}/${s.id}`;
}

export function stackView(base: string, s: Omit<StackRow, 'trust_id'>, opts: { model?: StackModel; outputs?: unknown[]; detail?: boolean }): Record<string, unknown> {
  const params: Record<string, string> = { 'OS::stack_id': s.id, 'OS::stack_name': s.name, 'OS::project_id': s.project_id };
  if (opts.model) Object.assign(params, displayParameters(opts.model.template, opts.model.parameters));
  const template = JSON.parse(s.template) as Record<string, unknown>;
  const description = String(template.description ?? template.Description ?? '');
  const view: Record<string, unknown> = {
    id: s.id,
    stack_name: s.name,
    description,
    creation_time: heatTime(s.created_at),
    updated_time: heatTime(s.updated_at),
    deletion_time: null,
    stack_status: `${s.action}_${s.status}`,
    stack_status_reason: s.status_reason,
    stack_owner: s.owner_name,
    stack_user_project_id: s.project_id,
    project: s.project_id,
    parent: s.parent_id,
    tags: s.tags ? (JSON.parse(s.tags) as string[]) : null,
    links: [{ href: stackLink(base, s), rel: 'self' }],
  };
  if (opts.detail) {
    Object.assign(view, {
      parameters: params,
      disable_rollback: s.disable_rollback === 1,
      timeout_mins: s.timeout_mins,
      capabilities: [],
      notification_topics: [],
      template_description: description,
      ...(opts.outputs ? { outputs: opts.outputs } : {}),
    });
  }
  return view;
}

export function requiredBy(model: StackModel | undefined): Map<string, string[]> {
  if (!model) return new Map();
  return new Map([...reverse(model.graph)].map(([k, v]) => [k, [...v].sort()]));
}

export function resourceView(base: string, stack: StackRow, r: ResourceRow, opts: { requiredBy?: string[]; attributes?: Record<string, unknown>; description?: string; nestedId?: string; nestedName?: string; parentResource?: string | null }): Record<string, unknown> {
  const link = `${stackLink(base, stack)}/resources/${encodeURIComponent(r.name)}`;
  const links = [{ href: link, rel: 'self' }, { href: stackLink(base, stack), rel: 'stack' }];
  if (opts.nestedId) links.push({ href: `${base}/stacks/${encodeURIComponent(opts.nestedName ?? `${stack.name}-${r.name}`)}/${opts.nestedId}`, rel: 'nested' });
  return {
    resource_name: r.name,
    logical_resource_id: r.name,
    physical_resource_id: r.physical_id ?? '',
    resource_status: `${r.action}_${r.status}`,
    resource_status_reason: r.status_reason,
    resource_type: r.type,
    creation_time: heatTime(r.created_at),
    updated_time: heatTime(r.updated_at ?? r.created_at),
    required_by: opts.requiredBy ?? [],
    links,
    stack_name: stack.name,
    ...(opts.parentResource !== undefined ? { parent_resource: opts.parentResource } : {}),
    ...(opts.attributes ? { attributes: opts.attributes, description: opts.description ?? '', metadata: JSON.parse(r.metadata) as unknown } : {}),
  };
}

export function eventView(base: string, stack: StackRow, e: EventRow, root?: StackRow): Record<string, unknown> {
  const sl = stackLink(base, stack);
  const links = [
    { href: `${sl}/resources/${encodeURIComponent(e.resource_name)}/events/${e.id}`, rel: 'self' },
    { href: `${sl}/resources/${encodeURIComponent(e.resource_name)}`, rel: 'resource' },
    { href: sl, rel: 'stack' },
  ];
  if (root) links.push({ href: stackLink(base, root), rel: 'root_stack' });
  return {
    id: e.id,
    event_time: heatTime(e.created_at),
    resource_name: e.resource_name,
    logical_resource_id: e.resource_name,
    physical_resource_id: e.physical_id ?? '',
    resource_status: `${e.action}_${e.status}`,
    resource_status_reason: e.reason,
    resource_type: e.resource_type,
    links,
  };
}
