// The move from one table of JSON documents to relational tables (migration 0003), on SQLite and on
// PostgreSQL: a database written by the old store (0001 documents, 0002 bindings) comes up with every
// network, subnet, port, group, rule, router (its gateway address becoming its gateway port), floating
// IP, tag, quota and binding in place, and serves them through the service as before.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createDatabase, type Database } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrations.ts';
import { PolicyEngine } from '../../src/platform/auth/policy.ts';
import { networkMigrations } from '../../src/network/store/migrations.ts';
import { NetworkStore } from '../../src/network/store/index.ts';
import { NetworkCore } from '../../src/network/core.ts';
import { AddressAllocator } from '../../src/network/ipam.ts';
import { NetworkService } from '../../src/network/service.ts';
import { networkPolicy } from '../../src/network/policy.ts';
import type { RequestContext } from '../../src/platform/auth/context.ts';
import { testDataDir } from '../helpers/cloud.ts';
import { testPostgresUrl } from '../helpers/postgres.ts';

const P = 'project-a';
const T = '2026-11-20T10:00:00Z';
const std = (id: string, extra: Record<string, unknown>) => ({ id, project_id: P, created_at: T, updated_at: T, revision_number: 2, tags: [], name: '', description: '', ...extra });
const ctx: RequestContext = { userId: 'u', userName: 'u', userDomainId: 'default', userDomainName: 'Default', scope: { kind: 'project', projectId: P, projectName: 'a', projectDomainId: 'default', projectDomainName: 'Default' }, roles: ['member', 'reader'], auditId: 'x', expiresAt: new Date(Date.now() + 3600_000), issuedAt: new Date(), methods: ['password'], token: 't' };

/** What the document store of 0001/0002 held for a small project. */
async function writeOldStore(database: Database): Promise<void> {
  await migrate(database, 'network', networkMigrations.slice(0, 1));
  const docs: [string, Record<string, unknown>][] = [
    ['network', std('ext', { project_id: 'hafen-operator', name: 'public', shared: true, 'router:external': true, mtu: 1500, admin_state_up: true, port_security_enabled: true, subnets: ['ext-sub'] })],
    ['subnet', std('ext-sub', { project_id: 'hafen-operator', network_id: 'ext', cidr: '127.64.0.0/16', gateway_ip: '127.64.0.1', allocation_pools: [{ start: '127.64.0.2', end: '127.64.255.254' }], dns_nameservers: [], host_routes: [], enable_dhcp: false })],
    ['network', std('net', { name: 'app', mtu: 1400, admin_state_up: true, shared: false, 'router:external': false, port_security_enabled: true, subnets: ['sub'], tags: ['blue'] })],
    ['subnet', std('sub', { name: 'app-sub', network_id: 'net', cidr: '10.5.0.0/24', gateway_ip: '10.5.0.1', allocation_pools: [{ start: '10.5.0.2', end: '10.5.0.254' }], dns_nameservers: ['10.5.0.53'], host_routes: [], enable_dhcp: true })],
    ['security_group', std('sg', { name: 'default', stateful: true })],
    ['security_group_rule', std('rule', { security_group_id: 'sg', direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '0.0.0.0/0', remote_group_id: null })],
    ['port', std('port-made', { network_id: 'net', mac_address: 'fa:16:3e:00:00:01', fixed_ips: [{ subnet_id: 'sub', ip_address: '10.5.0.2' }], device_id: 'server-1', device_owner: 'compute:nova', 'binding:host_id': 'h1', security_groups: ['sg'], port_security_enabled: true, status: 'ACTIVE', created_for_server: true })],
    ['port', std('port-forged', { network_id: 'net', mac_address: 'fa:16:3e:00:00:02', fixed_ips: [{ subnet_id: 'sub', ip_address: '10.5.0.3' }], device_id: 'server-of-another', device_owner: 'compute:nova', security_groups: [], port_security_enabled: false, status: 'DOWN' })],
    ['port', std('port-rif', { network_id: 'net', mac_address: 'fa:16:3e:00:00:03', fixed_ips: [{ subnet_id: 'sub', ip_address: '10.5.0.1' }], device_id: 'router', device_owner: 'network:router_interface', security_groups: [], port_security_enabled: false, status: 'ACTIVE' })],
    ['router', std('router', { name: 'r', admin_state_up: true, status: 'ACTIVE', routes: [], interfaces: ['port-rif'], external_gateway_info: { network_id: 'ext', enable_snat: true, external_fixed_ips: [{ subnet_id: 'ext-sub', ip_address: '127.64.0.9' }] } })],
    ['floatingip', std('fip', { floating_network_id: 'ext', floating_ip_address: '127.64.0.10', port_id: 'port-made', fixed_ip_address: '10.5.0.2', router_id: 'router', status: 'ACTIVE' })],
    ['quota', { id: `quota-${P}`, project_id: P, created_at: T, updated_at: T, revision_number: 0, tags: [], limits: { network: 7 } }],
  ];
  let seq = 1;
  for (const [kind, doc] of docs) await database.db.insertInto('network_resources').values({ id: doc.id, kind, project_id: doc.project_id, seq: seq++, body: JSON.stringify(doc) }).execute();
  for (const [subnet, ip, owner] of [['sub', '10.5.0.2', 'port-made'], ['sub', '10.5.0.3', 'port-forged'], ['sub', '10.5.0.1', 'port-rif'], ['ext-sub', '127.64.0.9', 'router'], ['ext-sub', '127.64.0.10', 'fip']]) {
    await database.db.insertInto('network_ip_allocations').values({ subnet_id: subnet, ip_address: ip, owner_id: owner }).execute();
  }
  await migrate(database, 'network', networkMigrations.slice(0, 2));
}

for (const dialect of ['sqlite', 'postgres'] as const)
  describe(`network migration to relational tables on ${dialect}`, () => {
    it('carries every resource over and serves it as before', async () => {
      const url = dialect === 'postgres' ? await testPostgresUrl() : `sqlite://${path.join(testDataDir(`network-migration-${dialect}`), 'hafen.db')}`;
      const database = await createDatabase(url);
      try {
        await writeOldStore(database);
        const policy = new PolicyEngine();
        policy.registerDefaults(networkPolicy);
        const service = new NetworkService(new NetworkCore(await NetworkStore.create(database), policy, new AddressAllocator()));
        const net = await service.find(ctx, 'network', 'net');
        assert.equal(net.mtu, 1400);
        assert.deepEqual(net.subnets, ['sub']);
        assert.deepEqual(net.tags, ['blue']);
        assert.equal(net.revision_number, 2);
        const sub = await service.find(ctx, 'subnet', 'sub');
        assert.deepEqual(sub.dns_nameservers, ['10.5.0.53']);
        const port = await service.find(ctx, 'port', 'port-made');
        assert.deepEqual(port.fixed_ips, [{ subnet_id: 'sub', ip_address: '10.5.0.2' }]);
        assert.deepEqual(port.security_groups, ['sg']);
        const group = await service.find(ctx, 'security_group', 'sg');
        assert.equal((group.security_group_rules as { port_range_min: number }[])[0]!.port_range_min, 80);
        const router = await service.find(ctx, 'router', 'router');
        assert.deepEqual(router.external_gateway_info, { network_id: 'ext', enable_snat: true, external_fixed_ips: [{ subnet_id: 'ext-sub', ip_address: '127.64.0.9' }] });
        const fip = await service.find(ctx, 'floatingip', 'fip');
        assert.equal(fip.port_id, 'port-made');
        assert.equal((await service.quotaOf(P)).network, 7);
        // Compute's binding came over; the forged device_id did not become one.
        assert.deepEqual((await service.bindingsOf('server-1')).map((b) => b.portId), ['port-made']);
        assert.deepEqual(await service.bindingsOf('server-of-another'), []);
        assert.deepEqual(Object.keys(await service.serverAddresses('server-1')), ['app']);
        // The router interface is a port the router holds: its subnet is in use and the router too.
        await assert.rejects(service.deleteRouter(ctx, 'router'), { name: 'RouterInUse' });
        // Addresses keep their owners: a new port does not get one of theirs.
        const fresh = await service.createPort(ctx, { network_id: 'net' });
        assert.deepEqual(fresh.fixed_ips, [{ subnet_id: 'sub', ip_address: '10.5.0.4' }]);
        // The old document table is gone.
        await assert.rejects(database.db.selectFrom('network_resources').selectAll().execute());
      } finally {
        await database.close();
      }
    });
  });
