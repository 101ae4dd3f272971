// Server diagnostics (admins): what the engine measures of a running server, in Nova's standard
// form (2.48) or the older free-form one.
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { Hosts } from './hosts.ts';
import { POWER } from './states.ts';

const MiB = 1024 * 1024;

export class Diagnostics {
  constructor(
    private readonly core: ComputeCore,
    private readonly hosts: Hosts,
  ) {}

  async of(ctx: RequestContext, id: string, standard: boolean): Promise<Record<string, unknown>> {
    this.core.enforce(ctx, 'diagnostics');
    const row = await this.core.server(ctx, id);
    if (row.power_state !== POWER.RUNNING || !row.host_id) throw new ConflictError(`Cannot 'get_diagnostics' instance ${id} while it is in vm_state ${row.vm_state}`);
    const driver = this.hosts.driverOf(row.host_id);
    if (!driver.capabilities.stats) throw new ConflictError(`The host of ${id} cannot sample its use.`);
    const s = await driver.stats(id);
    const ports = await this.core.network.bindingsOf(id);
    const uptime = row.launched_at ? Math.max(0, Math.floor((Date.now() - new Date(row.launched_at).getTime()) / 1000)) : 0;
    if (!standard) {
      return {
        memory: Math.round(s.memoryLimitBytes / 1024),
        'memory-actual': Math.round(s.memoryUsageBytes / 1024),
        cpu0_time: null,
        vda_read: s.blockReadBytes,
        vda_write: s.blockWriteBytes,
        eth0_rx: s.networkRxBytes,
        eth0_tx: s.networkTxBytes,
      };
    }
    return {
      state: 'running',
      driver: 'docker',
      hypervisor: 'docker',
      hypervisor_os: 'linux',
      uptime,
      config_drive: true,
      num_cpus: row.vcpus,
      num_nics: ports.length,
      num_disks: 1,
      memory_details: { maximum: Math.round(s.memoryLimitBytes / MiB), used: Math.round(s.memoryUsageBytes / MiB) },
      cpu_details: [{ id: 0, time: null, utilisation: Math.round(s.cpuPercent) }],
      nic_details: ports.map((p, i) => ({
        mac_address: p.macAddress,
        // The engine counts all of a server's traffic together: it shows on the first interface.
        rx_octets: i === 0 ? s.networkRxBytes : 0,
        rx_errors: 0,
        rx_drop: 0,
        rx_packets: null,
        rx_rate: null,
        tx_octets: i === 0 ? s.networkTxBytes : 0,
        tx_errors: 0,
        tx_drop: 0,
        tx_packets: null,
        tx_rate: null,
      })),
      disk_details: [{ read_bytes: s.blockReadBytes, read_requests: null, write_bytes: s.blockWriteBytes, write_requests: null, errors_count: 0 }],
    };
  }
}
