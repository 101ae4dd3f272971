// Compute's tables as TypeScript sees them: one row type per table and the database interface the
// store's Kysely handle is typed with. Booleans are 0/1 integers, JSON is text, times ISO-8601 text.

export interface FlavorRow {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral: number;
  swap: number;
  is_public: number;
  description: string | null;
  /** JSON object of strings. */
  extra_specs: string;
  created_at: string;
}

export interface HostRow {
  id: string;
  hostname: string;
  endpoint: string;
  vcpus: number;
  memory_mib: number;
  disk_gib: number;
  architecture: string;
  availability_zone: string;
  enabled: number;
  disabled_reason: string | null;
  heartbeat_at: string;
  created_at: string;
  /** The confinement its tenant containers run under (HostConfinement of agent/driver.ts, JSON), as the host reported it. */
  confinement?: string | null;
  /** The host's service and hypervisor id before microversion 2.53 (Nova's were integers). */
  number: number;
  /** Its id from 2.53 on. */
  uuid: string;
  /** Set by an admin (os-services force-down, 2.11): the host counts as down whatever its heartbeat. */
  forced_down: number;
}

export type VmState = 'building' | 'active' | 'stopped' | 'paused' | 'suspended' | 'error' | 'deleted' | 'resized';

/**
 * What a server row is: a Nova server, or a workload another API runs on compute (Zun's
 * containers) that shares the ledger, the scheduler, ports and isolation but stays out of Nova's views.
 */
/** `cluster-node`: a cluster's Docker engine, infrastructure the clusters service runs for the project. */
export type WorkloadKind = 'server' | 'container' | 'cluster-node';

export interface ServerRow {
  id: string;
  name: string;
  kind: WorkloadKind;
  project_id: string;
  user_id: string;
  image_id: string;
  flavor_id: string;
  /** The flavor as it was at boot/resize (JSON): the ledger charges this. */
  flavor: string;
  old_flavor: string | null;
  host_id: string | null;
  vm_state: VmState;
  task_state: string | null;
  power_state: number;
  /** JSON `{ code, message, created }` while the server is in ERROR. */
  fault: string | null;
  /** JSON object of strings. */
  metadata: string;
  key_name: string | null;
  user_data: string | null;
  availability_zone: string | null;
  locked: number;
  /** Who locked it: `admin` (an admin's lock, which only admins lift) or `owner`; null when unlocked. */
  locked_by: 'owner' | 'admin' | null;
  locked_reason: string | null;
  /** JSON: 'auto', 'none' or the NICs asked for at boot. */
  networks: string;
  /** JSON: the addresses recorded when the build finished (lists read them live from the network service). */
  addresses: string;
  /** JSON list of security group names asked for at boot. */
  security_groups: string;
  server_group_id: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
  launched_at: string | null;
  /** When a deleted server ended (usage reports); absent on rows of before migration 0009. */
  terminated_at?: string | null;
  deleted: number;
  /** What the ledger charges (the flavor's, kept in step with `flavor` by the store). */
  vcpus: number;
  memory_mib: number;
  disk_gib: number;
  /** Bumped by every update of the row (0 when inserted; absent on rows built before the insert). */
  revision?: number;
}

/** A server's id and revision: what a list reads when it keeps each server's view by revision. */
export type ServerRevision = { id: string; revision: number };

/** A server's revision and whose it is: what a show whose view is kept needs of its row. */
export type ServerOwnerRow = ServerRevision & Pick<ServerRow, 'project_id' | 'kind'>;

export interface KeypairRow {
  user_id: string;
  name: string;
  public_key: string;
  fingerprint: string;
  type: string;
  created_at: string;
}

export interface ServerGroupRow {
  id: string;
  name: string;
  project_id: string;
  user_id: string;
  policy: string;
  created_at: string;
}

/** A server's tag (Nova 2.26): at most 50 per server. */
export interface ServerTagRow {
  server_id: string;
  tag: string;
}

/** A quota class's limit; the class `default` holds the limits of every project without its own. */
export interface QuotaClassRow {
  class_name: string;
  resource: string;
  hard_limit: number;
}

export interface QuotaRow {
  project_id: string;
  /** A quota name, or `_lock`: the row boots of one project serialise on (PostgreSQL). */
  resource: string;
  hard_limit: number;
}

export interface ActionRow {
  id: string;
  server_id: string;
  action: string;
  request_id: string;
  user_id: string;
  project_id: string;
  start_time: string;
  message: string | null;
  /** JSON list of `{ event, start_time, finish_time, result }`. */
  events: string;
}

export interface ContainerOptionsRow {
  server_id: string;
  /** JSON ContainerOptions. */
  options: string;
}

export interface AggregateRow {
  id: number;
  uuid: string;
  name: string;
  availability_zone: string | null;
  /** JSON object of strings. */
  metadata: string;
  created_at: string;
  updated_at: string;
}

export interface AggregateHostRow {
  aggregate_id: number;
  host_id: string;
}

/** A project's access to a private flavor (os-flavor-access). */
export interface FlavorAccessRow {
  flavor_id: string;
  project_id: string;
}

export interface ComputeTables {
  compute_flavors: FlavorRow;
  compute_hosts: HostRow;
  compute_servers: ServerRow;
  compute_keypairs: KeypairRow;
  compute_server_groups: ServerGroupRow;
  compute_quotas: QuotaRow;
  compute_server_tags: ServerTagRow;
  compute_quota_classes: QuotaClassRow;
  compute_actions: ActionRow;
  compute_container_options: ContainerOptionsRow;
  compute_cloud: { id: string };
  compute_aggregates: AggregateRow;
  compute_aggregate_hosts: AggregateHostRow;
  compute_flavor_access: FlavorAccessRow;
}

/** The columns reconciliation reads, for every live server. */
export type ServerStateRow = Pick<ServerRow, 'id' | 'kind' | 'project_id' | 'user_id' | 'host_id' | 'vm_state' | 'task_state' | 'power_state' | 'server_group_id' | 'vcpus' | 'memory_mib' | 'disk_gib'>;

/** The columns the ledger keeps per server. */
export type AllocationRow = Pick<ServerRow, 'id' | 'host_id' | 'server_group_id' | 'vcpus' | 'memory_mib' | 'disk_gib'>;
