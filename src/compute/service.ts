// The compute service: one object per concern (hosts, flavors, key pairs, quotas, server groups,
// listing, boot, a server's record, actions, interfaces, instance actions, reconciliation), all
// sharing one core. The API and compute's client call these; nothing outside reaches the store.
import type { Config } from '../config.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import type { ImageClient } from '../image/client.ts';
import type { NetworkClient } from '../network/client.ts';
import { ServerActions } from './actions/index.ts';
import { Builder } from './build.ts';
import { ComputeCore, type ComputeOptions } from './core.ts';
import { Flavors } from './flavors.ts';
import { Hosts } from './hosts.ts';
import { Aggregates } from './aggregates.ts';
import { InstanceActions } from './instance-actions.ts';
import { Interfaces } from './interfaces.ts';
import { Keypairs } from './keypairs.ts';
import { ServerListing } from './listing.ts';
import { Quotas } from './quotas.ts';
import { ServerGroups } from './server-groups.ts';
import { ServerTags } from './tags.ts';
import { Usage } from './usage.ts';
import { Diagnostics } from './diagnostics.ts';
import { ExternalEvents } from './external-events.ts';
import { Servers } from './servers.ts';
import { NetworkProxies } from './network-proxies.ts';
import { ImageProxies } from './image-proxies.ts';
import type { ComputeStore } from './store.ts';
import { Sync } from './sync.ts';
import type { ServerRevision, ServerRow, WorkloadKind } from './tables.ts';

export type { ComputeOptions } from './core.ts';

export class ComputeService {
  private readonly core: ComputeCore;
  readonly hosts: Hosts;
  readonly aggregates: Aggregates;
  readonly flavors: Flavors;
  readonly quotas: Quotas;
  readonly keypairs: Keypairs;
  readonly serverGroups: ServerGroups;
  readonly instanceActions: InstanceActions;
  readonly listing: ServerListing;
  readonly servers: Servers;
  readonly tags: ServerTags;
  readonly usage: Usage;
  readonly diagnostics: Diagnostics;
  readonly externalEvents: ExternalEvents;
  readonly build: Builder;
  readonly actions: ServerActions;
  readonly interfaces: Interfaces;
  readonly sync: Sync;
  /** Nova's proxy APIs to Neutron and Glance (below 2.36). */
  readonly networkProxies: NetworkProxies;
  readonly imageProxies: ImageProxies;

  constructor(store: ComputeStore, images: ImageClient, network: NetworkClient, policy: PolicyEngine, options: ComputeOptions, config: Config) {
    const core = (this.core = new ComputeCore(store, images, network, policy, config, options));
    this.hosts = new Hosts(core);
    this.aggregates = new Aggregates(core, this.hosts);
    this.flavors = new Flavors(core);
    this.quotas = new Quotas(core);
    this.keypairs = new Keypairs(core, this.quotas);
    this.serverGroups = new ServerGroups(core, this.quotas);
    this.instanceActions = new InstanceActions(core);
    this.listing = new ServerListing(core);
    this.servers = new Servers(core, this.hosts, this.instanceActions);
    this.tags = new ServerTags(core);
    this.usage = new Usage(core);
    this.diagnostics = new Diagnostics(core, this.hosts);
    this.externalEvents = new ExternalEvents(core);
    this.build = new Builder(core, this.hosts, this.quotas, this.serverGroups, this.flavors, this.instanceActions);
    this.actions = new ServerActions({ core, hosts: this.hosts, actions: this.instanceActions, servers: this.servers, flavors: this.flavors }, this.quotas);
    this.interfaces = new Interfaces(core, this.hosts, this.instanceActions);
    this.sync = new Sync(core, this.hosts, this.servers);
    this.networkProxies = new NetworkProxies(core);
    this.imageProxies = new ImageProxies(core, this.quotas);
  }

  enforce(ctx: RequestContext, action: string, target: Record<string, unknown> = {}): void {
    this.core.enforce(ctx, action, target);
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.core.isAdmin(ctx);
  }

  /** The server (of that kind) if the caller may see it; 404 otherwise, whether it exists or not. */
  server(ctx: RequestContext, id: string, kind: WorkloadKind = 'server'): Promise<ServerRow> {
    return this.core.server(ctx, id, kind);
  }

  /** server()'s answer as its row's id and revision only (404 alike). */
  serverRevision(ctx: RequestContext, id: string, kind: WorkloadKind = 'server'): Promise<ServerRevision> {
    return this.core.serverRevision(ctx, id, kind);
  }

  /** Waits for every build and action under way (tests, shutdown). */
  settle(): Promise<void> {
    return this.core.settle();
  }

  reconcile(opts: { afterRestart?: boolean } = {}): Promise<void> {
    return this.sync.reconcile(opts);
  }
}
