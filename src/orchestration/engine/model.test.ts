// The stack model's graph: explicit references and depends_on, Heat's implicit networking
// dependencies (added only where they make no cycle), and cycles refused with their path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from './model.ts';
import { ResourceRegistry } from '../resources/registry.ts';
import { emptyEnvironment } from '../template/environment.ts';

const model = (resources: Record<string, unknown>) =>
  buildModel({ template: { heat_template_version: '2021-04-16', resources }, environment: emptyEnvironment(), files: {}, parameters: {} }, { id: 's', name: 's', projectId: 'p', region: 'r' }, new ResourceRegistry());

describe('stack model graph', () => {
  it('orders ports and servers after their network\'s subnets, floating IPs after router interfaces', () => {
    const m = model({
      net: { type: 'OS::Neutron::Net' },
      sub: { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: 'net' }, cidr: '10.9.0.0/24' } },
      port: { type: 'OS::Neutron::Port', properties: { network: { get_resource: 'net' } } },
      router: { type: 'OS::Neutron::Router', properties: { external_gateway_info: { network: 'public' } } },
      iface: { type: 'OS::Neutron::RouterInterface', properties: { router: { get_resource: 'router' }, subnet: { get_resource: 'sub' } } },
      fip: { type: 'OS::Neutron::FloatingIP', properties: { floating_network: 'public', port_id: { get_resource: 'port' } } },
      server: { type: 'OS::Nova::Server', properties: { image: 'bb', flavor: 'm1.tiny', networks: [{ network: { get_resource: 'net' } }] } },
    });
    assert.deepEqual([...m.graph.get('port')!].sort(), ['net', 'sub']);
    assert.deepEqual([...m.graph.get('server')!].sort(), ['net', 'sub']);
    assert.deepEqual([...m.graph.get('fip')!].sort(), ['iface', 'port', 'router']);
    assert.deepEqual([...m.graph.get('sub')!], ['net']);
  });

  it('adds no implicit edge that would close a cycle, and refuses explicit cycles', () => {
    const m = model({
      net: { type: 'OS::Neutron::Net' },
      port: { type: 'OS::Neutron::Port', properties: { network: { get_resource: 'net' } } },
      // A subnet that (oddly) waits for the port: the port must not then wait for the subnet.
      sub: { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: 'net' }, cidr: '10.9.0.0/24' }, depends_on: ['port'] },
    });
    assert.deepEqual([...m.graph.get('port')!], ['net']);
    assert.throws(() => model({ a: { type: 'OS::Heat::None', depends_on: ['b'] }, b: { type: 'OS::Heat::None', depends_on: ['a'] } }), /Circular Dependency Found/);
  });
});
