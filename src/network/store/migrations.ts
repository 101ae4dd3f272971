// The network's migrations, the same on SQLite and PostgreSQL: 0001 (one table of JSON documents and the
// address ledger) and 0002 (compute's port bindings) are the past; 0003 moves every resource to a table
// of its own with real columns and foreign keys, copying what the documents held; 0004 counts the
// changes of what servers' addresses are made of (on SQLite).
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../../platform/db/database.ts';
import type { Migration } from '../../platform/db/migrations.ts';

const std = (t: any) =>
  t
    .addColumn('id', 'varchar(64)', (c: any) => c.primaryKey())
    .addColumn('project_id', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('description', 'varchar(255)', (c: any) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('seq', 'bigint', (c: any) => c.notNull());

async function createRelationalTables(db: Kysely<any>): Promise<void> {
  await std(db.schema.createTable('network_networks'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c: any) => c.notNull())
    .addColumn('shared', 'integer', (c: any) => c.notNull())
    .addColumn('external', 'integer', (c: any) => c.notNull())
    .addColumn('mtu', 'integer', (c: any) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c: any) => c.notNull())
    .addColumn('is_default', 'integer', (c: any) => c.notNull())
    .execute();
  await db.schema.createIndex('network_networks_project').on('network_networks').columns(['project_id', 'seq']).execute();
  await db.schema.createIndex('network_networks_shared').on('network_networks').columns(['shared', 'external']).execute();

  await std(db.schema.createTable('network_subnetpools'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('ip_version', 'integer', (c: any) => c.notNull())
    .addColumn('prefixes', 'text', (c: any) => c.notNull())
    .addColumn('default_prefixlen', 'integer', (c: any) => c.notNull())
    .addColumn('min_prefixlen', 'integer', (c: any) => c.notNull())
    .addColumn('max_prefixlen', 'integer', (c: any) => c.notNull())
    .addColumn('shared', 'integer', (c: any) => c.notNull())
    .addColumn('is_default', 'integer', (c: any) => c.notNull())
    .execute();
  await db.schema.createIndex('network_subnetpools_project').on('network_subnetpools').columns(['project_id', 'seq']).execute();

  await std(db.schema.createTable('network_subnets'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('network_id', 'varchar(64)', (c: any) => c.notNull().references('network_networks.id').onDelete('cascade'))
    .addColumn('ip_version', 'integer', (c: any) => c.notNull())
    .addColumn('cidr', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('gateway_ip', 'varchar(64)')
    .addColumn('allocation_pools', 'text', (c: any) => c.notNull())
    .addColumn('dns_nameservers', 'text', (c: any) => c.notNull())
    .addColumn('host_routes', 'text', (c: any) => c.notNull())
    .addColumn('enable_dhcp', 'integer', (c: any) => c.notNull())
    .addColumn('subnetpool_id', 'varchar(64)', (c: any) => c.references('network_subnetpools.id'))
    .execute();
  await db.schema.createIndex('network_subnets_network').on('network_subnets').columns(['network_id', 'seq']).execute();
  await db.schema.createIndex('network_subnets_project').on('network_subnets').columns(['project_id', 'seq']).execute();
  await db.schema.createIndex('network_subnets_pool').on('network_subnets').column('subnetpool_id').execute();

  await std(db.schema.createTable('network_ports'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('network_id', 'varchar(64)', (c: any) => c.notNull().references('network_networks.id'))
    .addColumn('admin_state_up', 'integer', (c: any) => c.notNull())
    .addColumn('mac_address', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('device_id', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('device_owner', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('status', 'varchar(16)', (c: any) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c: any) => c.notNull())
    .addColumn('host_id', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('allowed_address_pairs', 'text', (c: any) => c.notNull())
    .addUniqueConstraint('network_ports_mac', ['network_id', 'mac_address'])
    .execute();
  await db.schema.createIndex('network_ports_project').on('network_ports').columns(['project_id', 'seq']).execute();
  await db.schema.createIndex('network_ports_device').on('network_ports').column('device_id').execute();

  // The existing ledger gains the port its address belongs to (fixed IPs of ports).
  await db.schema.alterTable('network_ip_allocations').addColumn('port_id', 'varchar(64)', (c: any) => c.references('network_ports.id').onDelete('cascade')).execute();
  await db.schema.createIndex('network_ip_allocations_port').on('network_ip_allocations').column('port_id').execute();

  await std(db.schema.createTable('network_security_groups'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('stateful', 'integer', (c: any) => c.notNull())
    .execute();
  await db.schema.createIndex('network_security_groups_project').on('network_security_groups').columns(['project_id', 'name']).execute();

  await std(db.schema.createTable('network_security_group_rules'))
    .addColumn('security_group_id', 'varchar(64)', (c: any) => c.notNull().references('network_security_groups.id').onDelete('cascade'))
    .addColumn('direction', 'varchar(16)', (c: any) => c.notNull())
    .addColumn('ethertype', 'varchar(8)', (c: any) => c.notNull())
    .addColumn('protocol', 'varchar(32)')
    .addColumn('port_range_min', 'integer')
    .addColumn('port_range_max', 'integer')
    .addColumn('remote_ip_prefix', 'varchar(64)')
    .addColumn('remote_group_id', 'varchar(64)', (c: any) => c.references('network_security_groups.id').onDelete('cascade'))
    .addColumn('belongs_to_default_sg', 'integer', (c: any) => c.notNull())
    .execute();
  await db.schema.createIndex('network_sg_rules_group').on('network_security_group_rules').columns(['security_group_id', 'seq']).execute();
  await db.schema.createIndex('network_sg_rules_remote').on('network_security_group_rules').column('remote_group_id').execute();
  await db.schema.createIndex('network_sg_rules_project').on('network_security_group_rules').columns(['project_id', 'seq']).execute();

  await db.schema
    .createTable('network_port_security_groups')
    .addColumn('port_id', 'varchar(64)', (c: any) => c.notNull().references('network_ports.id').onDelete('cascade'))
    .addColumn('security_group_id', 'varchar(64)', (c: any) => c.notNull().references('network_security_groups.id'))
    .addColumn('position', 'integer', (c: any) => c.notNull())
    .addPrimaryKeyConstraint('network_port_security_groups_pk', ['port_id', 'security_group_id'])
    .execute();
  await db.schema.createIndex('network_port_sg_group').on('network_port_security_groups').column('security_group_id').execute();

  await std(db.schema.createTable('network_routers'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c: any) => c.notNull())
    .addColumn('status', 'varchar(16)', (c: any) => c.notNull())
    .addColumn('gw_network_id', 'varchar(64)', (c: any) => c.references('network_networks.id'))
    .addColumn('gw_port_id', 'varchar(64)', (c: any) => c.references('network_ports.id').onDelete('set null'))
    .addColumn('enable_snat', 'integer', (c: any) => c.notNull())
    .addColumn('routes', 'text', (c: any) => c.notNull())
    .execute();
  await db.schema.createIndex('network_routers_project').on('network_routers').columns(['project_id', 'seq']).execute();
  await db.schema.createIndex('network_routers_gw').on('network_routers').column('gw_network_id').execute();

  await db.schema
    .createTable('network_router_ports')
    .addColumn('router_id', 'varchar(64)', (c: any) => c.notNull().references('network_routers.id').onDelete('cascade'))
    .addColumn('port_id', 'varchar(64)', (c: any) => c.primaryKey().references('network_ports.id').onDelete('cascade'))
    .addColumn('port_type', 'varchar(32)', (c: any) => c.notNull())
    .execute();
  await db.schema.createIndex('network_router_ports_router').on('network_router_ports').column('router_id').execute();

  await std(db.schema.createTable('network_floating_ips'))
    .addColumn('floating_network_id', 'varchar(64)', (c: any) => c.notNull().references('network_networks.id'))
    .addColumn('floating_subnet_id', 'varchar(64)', (c: any) => c.notNull().references('network_subnets.id'))
    .addColumn('floating_ip_address', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('port_id', 'varchar(64)', (c: any) => c.references('network_ports.id').onDelete('set null'))
    .addColumn('fixed_ip_address', 'varchar(64)')
    .addColumn('router_id', 'varchar(64)', (c: any) => c.references('network_routers.id'))
    .addColumn('status', 'varchar(16)', (c: any) => c.notNull())
    .addUniqueConstraint('network_floating_ips_address', ['floating_network_id', 'floating_ip_address'])
    .addUniqueConstraint('network_floating_ips_fixed', ['port_id', 'fixed_ip_address'])
    .execute();
  await db.schema.createIndex('network_floating_ips_project').on('network_floating_ips').columns(['project_id', 'seq']).execute();
  await db.schema.createIndex('network_floating_ips_router').on('network_floating_ips').column('router_id').execute();

  await db.schema
    .createTable('network_port_forwardings')
    .addColumn('id', 'varchar(64)', (c: any) => c.primaryKey())
    .addColumn('floatingip_id', 'varchar(64)', (c: any) => c.notNull().references('network_floating_ips.id').onDelete('cascade'))
    .addColumn('project_id', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('internal_port_id', 'varchar(64)', (c: any) => c.notNull().references('network_ports.id').onDelete('cascade'))
    .addColumn('internal_ip_address', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('internal_port', 'integer', (c: any) => c.notNull())
    .addColumn('external_port', 'integer', (c: any) => c.notNull())
    .addColumn('protocol', 'varchar(8)', (c: any) => c.notNull())
    .addColumn('description', 'varchar(255)', (c: any) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('seq', 'bigint', (c: any) => c.notNull())
    .addUniqueConstraint('network_port_forwardings_external', ['floatingip_id', 'external_port', 'protocol'])
    .addUniqueConstraint('network_port_forwardings_internal', ['internal_port_id', 'internal_ip_address', 'internal_port', 'protocol'])
    .execute();

  await db.schema
    .createTable('network_tags')
    .addColumn('resource_id', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('resource_kind', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('tag', 'varchar(255)', (c: any) => c.notNull())
    .addPrimaryKeyConstraint('network_tags_pk', ['resource_id', 'tag'])
    .execute();
  await db.schema.createIndex('network_tags_tag').on('network_tags').columns(['resource_kind', 'tag']).execute();

  await db.schema
    .createTable('network_quotas')
    .addColumn('project_id', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('resource', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('hard_limit', 'integer', (c: any) => c.notNull())
    .addPrimaryKeyConstraint('network_quotas_pk', ['project_id', 'resource'])
    .execute();

  // Bindings get their foreign key: a deleted port is bound to nothing.
  await db.schema.dropIndex('network_port_bindings_server').execute();
  await db.schema.alterTable('network_port_bindings').renameTo('network_port_bindings_0002').execute();
  await db.schema
    .createTable('network_port_bindings')
    .addColumn('port_id', 'varchar(64)', (c: any) => c.primaryKey().references('network_ports.id').onDelete('cascade'))
    .addColumn('server_id', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('project_id', 'varchar(64)', (c: any) => c.notNull())
    .addColumn('host_id', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('created_for_server', 'integer', (c: any) => c.notNull())
    .addColumn('seq', 'bigint', (c: any) => c.notNull())
    .execute();
  await db.schema.createIndex('network_port_bindings_server').on('network_port_bindings').columns(['server_id', 'seq']).execute();
}

type Doc = Record<string, any> & { id: string; project_id: string; created_at: string; updated_at: string; revision_number: number; tags?: string[] };
const b = (v: unknown) => (v ? 1 : 0);
const json = (v: unknown, fallback: unknown = []) => JSON.stringify(v ?? fallback);
const stdOf = (d: Doc, seq: number) => ({ id: d.id, project_id: d.project_id, description: d.description ?? '', revision_number: d.revision_number ?? 0, created_at: d.created_at, updated_at: d.updated_at, seq });

/** Copies the JSON documents of 0001 into the tables, parents before children. */
async function copyDocuments(db: Kysely<any>): Promise<void> {
  const rows = (await db.selectFrom('network_resources').select(['kind', 'body', 'seq']).orderBy('seq').execute()) as { kind: string; body: string; seq: number }[];
  const of = (kind: string) => rows.filter((r) => r.kind === kind).map((r) => ({ doc: JSON.parse(r.body) as Doc, seq: Number(r.seq) }));
  const tags = async (kind: string, d: Doc) => {
    for (const tag of new Set(d.tags ?? [])) await db.insertInto('network_tags').values({ resource_id: d.id, resource_kind: kind, tag }).execute();
  };
  for (const { doc: d, seq } of of('network')) {
    await db.insertInto('network_networks').values({ ...stdOf(d, seq), name: d.name ?? '', admin_state_up: b(d.admin_state_up ?? true), shared: b(d.shared), external: b(d['router:external']), mtu: d.mtu ?? 1500, port_security_enabled: b(d.port_security_enabled ?? true), is_default: b(d.is_default) }).execute();
    await tags('network', d);
  }
  for (const { doc: d, seq } of of('subnet')) {
    await db.insertInto('network_subnets').values({ ...stdOf(d, seq), name: d.name ?? '', network_id: d.network_id, ip_version: 4, cidr: d.cidr, gateway_ip: d.gateway_ip ?? null, allocation_pools: json(d.allocation_pools), dns_nameservers: json(d.dns_nameservers), host_routes: json(d.host_routes), enable_dhcp: b(d.enable_dhcp ?? true), subnetpool_id: null }).execute();
    await tags('subnet', d);
  }
  for (const { doc: d, seq } of of('security_group')) {
    await db.insertInto('network_security_groups').values({ ...stdOf(d, seq), name: d.name ?? '', stateful: b(d.stateful ?? true) }).execute();
    await tags('security_group', d);
  }
  for (const { doc: d, seq } of of('security_group_rule')) {
    await db.insertInto('network_security_group_rules').values({ ...stdOf(d, seq), security_group_id: d.security_group_id, direction: d.direction, ethertype: d.ethertype, protocol: d.protocol ?? null, port_range_min: d.port_range_min ?? null, port_range_max: d.port_range_max ?? null, remote_ip_prefix: d.remote_ip_prefix ?? null, remote_group_id: d.remote_group_id ?? null, belongs_to_default_sg: b(d.belongs_to_default_sg) }).execute();
  }
  const ports = of('port');
  for (const { doc: d, seq } of ports) {
    await db.insertInto('network_ports').values({ ...stdOf(d, seq), name: d.name ?? '', network_id: d.network_id, admin_state_up: b(d.admin_state_up ?? true), mac_address: d.mac_address, device_id: d.device_id ?? '', device_owner: d.device_owner ?? '', status: d.status ?? 'DOWN', port_security_enabled: b(d.port_security_enabled), host_id: d['binding:host_id'] ?? '', allowed_address_pairs: '[]' }).execute();
    let position = 0;
    for (const g of new Set((d.security_groups as string[] | undefined) ?? [])) await db.insertInto('network_port_security_groups').values({ port_id: d.id, security_group_id: g, position: position++ }).execute();
    await db.updateTable('network_ip_allocations').set({ port_id: d.id }).where('owner_id', '=', d.id).execute();
    await tags('port', d);
  }
  for (const { doc: d, seq } of of('router')) {
    const gw = d.external_gateway_info as { network_id: string; enable_snat?: boolean; external_fixed_ips?: { subnet_id: string; ip_address: string }[] } | null;
    await db.insertInto('network_routers').values({ ...stdOf(d, seq), name: d.name ?? '', admin_state_up: b(d.admin_state_up ?? true), status: d.status ?? 'ACTIVE', gw_network_id: gw?.network_id ?? null, gw_port_id: null, enable_snat: b(gw?.enable_snat ?? true), routes: json(d.routes) }).execute();
    for (const pid of (d.interfaces as string[] | undefined) ?? []) {
      if (ports.some((p) => p.doc.id === pid)) await db.insertInto('network_router_ports').values({ router_id: d.id, port_id: pid, port_type: 'network:router_interface' }).execute();
    }
    if (gw) {
      // The gateway's address was the router's own; it becomes its network:router_gateway port's.
      const portId = randomUUID();
      const mac = `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
      await db.insertInto('network_ports').values({ ...stdOf({ ...d, id: portId, project_id: '', description: '' }, seq), name: '', network_id: gw.network_id, admin_state_up: 1, mac_address: mac, device_id: d.id, device_owner: 'network:router_gateway', status: 'ACTIVE', port_security_enabled: 0, host_id: '', allowed_address_pairs: '[]' }).execute();
      await db.updateTable('network_ip_allocations').set({ owner_id: portId, port_id: portId }).where('owner_id', '=', d.id).execute();
      await db.insertInto('network_router_ports').values({ router_id: d.id, port_id: portId, port_type: 'network:router_gateway' }).execute();
      await db.updateTable('network_routers').set({ gw_port_id: portId }).where('id', '=', d.id).execute();
    }
    await tags('router', d);
  }
  for (const { doc: d, seq } of of('floatingip')) {
    const alloc = (await db.selectFrom('network_ip_allocations').select('subnet_id').where('owner_id', '=', d.id).executeTakeFirst()) as { subnet_id: string } | undefined;
    if (!alloc) continue;
    await db.insertInto('network_floating_ips').values({ ...stdOf(d, seq), floating_network_id: d.floating_network_id, floating_subnet_id: alloc.subnet_id, floating_ip_address: d.floating_ip_address, port_id: d.port_id ?? null, fixed_ip_address: d.fixed_ip_address ?? null, router_id: d.router_id ?? null, status: d.status ?? 'DOWN' }).execute();
    await tags('floatingip', d);
  }
  for (const { doc: d } of of('quota')) {
    for (const [resource, limit] of Object.entries((d.limits as Record<string, number> | undefined) ?? {})) {
      await db.insertInto('network_quotas').values({ project_id: d.project_id, resource, hard_limit: limit }).execute();
    }
  }
}

export const networkMigrations: Migration[] = [
  {
    name: '0001-initial',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('network_resources')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('network_resources_kind').on('network_resources').columns(['kind', 'seq']).execute();
      await db.schema
        .createTable('network_ip_allocations')
        .addColumn('subnet_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
        .addColumn('owner_id', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('network_ip_allocations_pk', ['subnet_id', 'ip_address'])
        .execute();
      await db.schema.createIndex('network_ip_allocations_owner').on('network_ip_allocations').column('owner_id').execute();
    },
  },
  {
    name: '0002-port-bindings',
    async up(db: Kysely<any>, dialect: Dialect) {
      await db.schema
        .createTable('network_port_bindings')
        .addColumn('port_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('server_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('host_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_for_server', 'integer', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('network_port_bindings_server').on('network_port_bindings').columns(['server_id', 'seq']).execute();
      // Existing bindings: the ports compute made for servers; ports it was given only where the
      // server is compute's and of the port's project (a forged device_id names no server of its own).
      const rows = (await db.selectFrom('network_resources').select(['id', 'body', 'seq']).where('kind', '=', 'port').execute()) as { id: string; body: string; seq: number }[];
      let servers: Map<string, string> | undefined;
      for (const r of rows) {
        const p = JSON.parse(r.body) as { project_id: string; device_id?: string; device_owner?: string; created_for_server?: boolean; 'binding:host_id'?: string };
        if (p.device_owner !== 'compute:nova' || !p.device_id) continue;
        if (!p.created_for_server) {
          servers ??= await computeServers(db, dialect);
          if (servers.get(p.device_id) !== p.project_id) continue;
        }
        await db.insertInto('network_port_bindings').values({ port_id: r.id, server_id: p.device_id, project_id: p.project_id, host_id: p['binding:host_id'] ?? '', created_for_server: p.created_for_server ? 1 : 0, seq: Number(r.seq) }).execute();
      }
    },
  },
  {
    name: '0003-relational',
    async up(db: Kysely<any>) {
      await createRelationalTables(db);
      await copyDocuments(db);
      await db
        .insertInto('network_port_bindings')
        .columns(['port_id', 'server_id', 'project_id', 'host_id', 'created_for_server', 'seq'])
        .expression((eb: any) => eb.selectFrom('network_port_bindings_0002 as o').innerJoin('network_ports as p', 'p.id', 'o.port_id').select(['o.port_id', 'o.server_id', 'o.project_id', 'o.host_id', 'o.created_for_server', 'o.seq']))
        .execute();
      await db.schema.dropTable('network_port_bindings_0002').execute();
      await db.schema.dropTable('network_resources').execute();
    },
  },
  {
    name: '0004-address-generation',
    async up(db: Kysely<any>, dialect: Dialect) {
      await db.schema.createTable('network_address_generation').addColumn('generation', 'bigint', (c) => c.notNull()).execute();
      await db.insertInto('network_address_generation').values({ generation: 0 }).execute();
      // SQLite (one controller owns its database): every change of what servers' addresses are made of
      // counts, whoever writes it, so that views kept in memory know when to read them again.
      // PostgreSQL's controllers share their database and read the addresses every time instead (a
      // counter row written by every port change would serialise their transactions).
      if (dialect !== 'sqlite') return;
      const watched: [table: string, change: string][] = [
        ['network_port_bindings', 'insert'],
        ['network_port_bindings', 'update'],
        ['network_port_bindings', 'delete'],
        ['network_ports', 'update of id, project_id, network_id, mac_address'],
        ['network_ports', 'delete'],
        ['network_networks', 'update of name'],
        ['network_ip_allocations', 'insert'],
        ['network_ip_allocations', 'update of port_id, ip_address'],
        ['network_ip_allocations', 'delete'],
        ['network_floating_ips', 'insert'],
        ['network_floating_ips', 'update of port_id, fixed_ip_address, floating_ip_address'],
        ['network_floating_ips', 'delete'],
      ];
      for (const [table, change] of watched) {
        const name = `${table}_addresses_${change.split(' ')[0]}`;
        await sql.raw(`create trigger ${name} after ${change} on ${table} begin update network_address_generation set generation = generation + 1; end`).execute(db);
      }
    },
  },
];

/** Server id -> project of compute's servers, when compute's table exists (an upgrade); else none. */
async function computeServers(db: Kysely<any>, dialect: Dialect): Promise<Map<string, string>> {
  // Asked first: a failed query would abort PostgreSQL's migration transaction.
  const exists =
    dialect === 'postgres'
      ? (await sql<{ t: string | null }>`select to_regclass('compute_servers')::text as t`.execute(db)).rows[0]?.t
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'compute_servers'`.execute(db)).rows[0]?.name;
  if (!exists) return new Map();
  const rows = (await db.selectFrom('compute_servers').select(['id', 'project_id']).execute()) as { id: string; project_id: string }[];
  return new Map(rows.map((r) => [r.id, r.project_id]));
}
