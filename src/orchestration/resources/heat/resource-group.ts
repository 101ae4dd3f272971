// OS::Heat::ResourceGroup: `count` copies of one resource definition in a nested stack, named
// 0..count-1, with `%index%` replaced by each copy's index.
import type { StackSpec } from '../../engine/model.ts';
import { nestedStackHooks, type ResourceType } from '../types.ts';
import { MAX_RESOURCES_PER_STACK, TemplateError } from '../../template/model.ts';

function replaceIndex(v: unknown, indexVar: string, i: number): unknown {
  if (typeof v === 'string') return v.split(indexVar).join(String(i));
  if (Array.isArray(v)) return v.map((x) => replaceIndex(x, indexVar, i));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceIndex(x, indexVar, i)]));
  return v;
}

function members(count: number, removed: string[]): string[] {
  const gone = new Set(removed);
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (!gone.has(String(i))) out.push(String(i));
  return out;
}

function groupSpec(props: Record<string, unknown>, parent: StackSpec): StackSpec {
  const count = Number(props.count);
  if (count > MAX_RESOURCES_PER_STACK) throw new TemplateError(`The group would have ${count} resources, more than the maximum of ${MAX_RESOURCES_PER_STACK}.`);
  const def = props.resource_def as { type: string; properties?: Record<string, unknown>; metadata?: Record<string, unknown> };
  const removed = ((props.removal_policies as { resource_list?: string[] }[] | undefined) ?? []).flatMap((p) => (p.resource_list ?? []).map(String));
  const resources: Record<string, unknown> = {};
  for (const name of members(Number(props.count), removed)) {
    const i = Number(name);
    resources[name] = { type: def.type, ...(def.properties ? { properties: replaceIndex(def.properties, String(props.index_var), i) } : {}), ...(def.metadata ? { metadata: def.metadata } : {}) };
  }
  return { template: { heat_template_version: '2015-04-30', resources }, environment: parent.environment, files: parent.files, parameters: {} };
}

export const heatResourceGroup: ResourceType = {
  type: 'OS::Heat::ResourceGroup',
  description: 'Creates one or more identically configured nested resources.',
  properties: {
    count: { type: 'integer', default: 1, update_allowed: true, description: 'The number of resources to create.', constraints: [{ range: { min: 0 } }] },
    index_var: { type: 'string', default: '%index%', update_allowed: true, description: 'A variable that this resource will use to replace with the current index of a given resource in the group.' },
    resource_def: {
      type: 'map',
      required: true,
      update_allowed: true,
      description: 'Resource definition for the resources in the group.',
      schema: { type: { type: 'string', required: true }, properties: { type: 'map' }, metadata: { type: 'map' } },
    },
    removal_policies: {
      type: 'list',
      default: [],
      update_allowed: true,
      description: 'Policies for removal of resources on update.',
      schema: { resource_list: { type: 'list', default: [] } },
    },
  },
  attributes: {
    refs: { description: 'A list of resource IDs for the resources in the group.', type: 'list' },
    refs_map: { description: 'A map of resource names to IDs for the resources in the group.', type: 'map' },
    attributes: { description: 'A map of resource names to the specified attribute of each individual resource.', type: 'map' },
    removed_rsrc_list: { description: 'A list of removed resource names.', type: 'list' },
  },
  dynamicAttributes: true,
  ...nestedStackHooks(groupSpec),
  async attribute(h, id, name) {
    if (!id) return null;
    const refs = await h.nested.references(id);
    const order = Object.keys(refs).sort((a, b) => Number(a) - Number(b));
    if (name === 'refs') return order.map((n) => refs[n]);
    if (name === 'refs_map') return Object.fromEntries(order.map((n) => [n, refs[n]]));
    if (name === 'removed_rsrc_list') return [];
    const m = /^resource\.([^.]+)(?:\.(.+))?$/.exec(name);
    if (m) {
      if (!(m[1]! in refs)) return null;
      return m[2] ? h.nested.attribute(id, m[1]!, m[2]) : refs[m[1]!];
    }
    // Any other name: that attribute of every member, in index order.
    return Promise.all(order.map((n) => h.nested.attribute(id, n, name)));
  },
};
