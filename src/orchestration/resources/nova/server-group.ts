// OS::Nova::ServerGroup: an (anti-)affinity group servers join through scheduler_hints.group.
import type { ResourceType } from '../types.ts';
import { TemplateError } from '../../template/model.ts';
import { gone } from '../lookup.ts';

const POLICIES = ['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity'];

export const novaServerGroup: ResourceType = {
  type: 'OS::Nova::ServerGroup',
  description: 'A resource for managing a Nova server group.',
  properties: {
    name: { type: 'string', description: 'Server Group name.' },
    policies: { type: 'list', default: ['anti-affinity'], items: { type: 'string', constraints: [{ allowed_values: POLICIES }] }, description: 'A list of exactly one policy to apply.' },
    rules: { type: 'map', description: 'Rules for the policy (max_server_per_host); not enforced by this cloud.' },
  },
  attributes: {},
  validate(props, _ctx, at) {
    const p = props.policies as unknown[];
    if (Array.isArray(p) && p.length !== 1) throw new TemplateError(`${at}.policies: length (${p.length}) is out of range (min: 1, max: 1)`);
  },
  async create(h, props) {
    const g = await h.clients.compute.createServerGroup(h.ctx, { server_group: { name: props.name ?? h.physicalName, policies: props.policies } });
    return g.id;
  },
  async delete(h, id) {
    await gone(async () => {
      await h.clients.compute.deleteServerGroup(h.ctx, id);
    });
  },
  async check(h, id) {
    await h.clients.compute.serverGroup(h.ctx, id);
  },
  async attribute(h, id, name) {
    if (!id || name !== 'show') return null;
    const g = await h.clients.compute.serverGroup(h.ctx, id);
    return { id: g.id, name: g.name, policies: [g.policy], project_id: g.projectId, user_id: g.userId };
  },
};
