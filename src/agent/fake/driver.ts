// The fake driver: a host simulated in memory, for control-plane scale tests and benches (thousands
// of hosts on one machine). It keeps the ComputeDriver guarantees; it never runs anything.
import { Readable } from 'node:stream';
import { ConflictError } from '../../platform/errors.ts';
import type { ComputeDriver, DriverCapabilities, HostCapacity, InterfaceSpec, PowerState, ServerSpec, ServerState } from '../driver.ts';

export interface FakeHostOptions {
  hostname: string;
  vcpus?: number;
  memoryMiB?: number;
  diskGiB?: number;
  architecture?: string;
  /** Time a spawn takes, to simulate slow hosts (default 0: instant). */
  spawnDelayMs?: number;
}

interface FakeServer {
  spec: ServerSpec;
  power: PowerState;
  interfaces: Map<string, InterfaceSpec>;
  memoryMiB: number;
  vcpus: number;
}

export class FakeDriver implements ComputeDriver {
  readonly capabilities: DriverCapabilities = { pause: true, snapshot: false, liveResize: true, consoleLog: true, interfaceHotplug: true };
  private readonly servers = new Map<string, FakeServer>();
  private readonly images = new Set<string>();
  private readonly cap: HostCapacity;

  constructor(private readonly options: FakeHostOptions) {
    this.cap = {
      vcpus: options.vcpus ?? 16,
      memoryMiB: options.memoryMiB ?? 65536,
      diskGiB: options.diskGiB ?? 1000,
      architecture: options.architecture ?? 'x86_64',
      hostname: options.hostname,
    };
  }

  /** Servers the fake host holds (tests look at it as they would look at an engine). */
  get serverCount(): number {
    return this.servers.size;
  }

  async capacity(): Promise<HostCapacity> {
    return { ...this.cap };
  }

  async ensureImage(imageId: string, digest: string, _data: () => Promise<Readable>): Promise<void> {
    // The archive is never read: a fake host only has to know it "has" the image.
    this.images.add(`${imageId}@${digest}`);
  }

  async spawn(spec: ServerSpec): Promise<ServerState> {
    if (this.options.spawnDelayMs) await new Promise((r) => setTimeout(r, this.options.spawnDelayMs));
    // Atomic: either the server is recorded whole, or nothing of it is.
    if (this.servers.has(spec.serverId)) throw new ConflictError(`A server ${spec.serverId} already exists on ${this.cap.hostname}.`);
    if (![...this.images].some((k) => k.startsWith(`${spec.imageId}@`))) throw new Error(`Image ${spec.imageId} is not on ${this.cap.hostname}.`);
    const interfaces = new Map<string, InterfaceSpec>();
    if (spec.network) interfaces.set(spec.network.name, spec.network);
    this.servers.set(spec.serverId, { spec, power: 'running', interfaces, memoryMiB: spec.memoryMiB, vcpus: spec.vcpus });
    return this.state(spec.serverId);
  }

  async destroy(serverId: string): Promise<void> {
    this.servers.delete(serverId);
  }

  async power(serverId: string, action: 'start' | 'stop' | 'reboot' | 'hard-reboot' | 'pause' | 'unpause'): Promise<ServerState> {
    const s = this.servers.get(serverId);
    if (!s) throw new Error(`No server ${serverId} on ${this.cap.hostname}.`);
    switch (action) {
      case 'start':
      case 'reboot':
      case 'hard-reboot':
        s.power = 'running';
        break;
      case 'stop':
        s.power = 'shutdown';
        break;
      case 'pause':
        if (s.power !== 'running') throw new ConflictError(`Server ${serverId} is not running.`);
        s.power = 'paused';
        break;
      case 'unpause':
        if (s.power !== 'paused') throw new ConflictError(`Server ${serverId} is not paused.`);
        s.power = 'running';
        break;
      default: {
        const never: never = action;
        throw new Error(`unknown power action ${String(never)}`);
      }
    }
    return this.state(serverId);
  }

  async state(serverId: string): Promise<ServerState> {
    const s = this.servers.get(serverId);
    if (!s) return { power: 'missing', ip: null, mac: null, exitCode: null };
    const first = [...s.interfaces.values()][0];
    return { power: s.power, ip: first?.ip ?? null, mac: first?.mac ?? null, exitCode: s.power === 'shutdown' ? 0 : null };
  }

  async resize(serverId: string, limits: { memoryMiB: number; vcpus: number; pidsLimit: number }): Promise<void> {
    const s = this.servers.get(serverId);
    if (!s) throw new Error(`No server ${serverId} on ${this.cap.hostname}.`);
    s.memoryMiB = limits.memoryMiB;
    s.vcpus = limits.vcpus;
  }

  async consoleLog(serverId: string, tailLines: number | null): Promise<string> {
    if (!this.servers.has(serverId)) throw new Error(`No server ${serverId} on ${this.cap.hostname}.`);
    const lines = [`fake host ${this.cap.hostname}: server ${serverId} booted`];
    return (tailLines === null ? lines : lines.slice(-tailLines)).join('\n') + '\n';
  }

  async snapshot(serverId: string, _name: string): Promise<Readable> {
    // capabilities.snapshot is false: compute does not ask; a direct call is refused plainly.
    throw new ConflictError(`The fake host ${this.cap.hostname} cannot snapshot server ${serverId}.`);
  }

  async attachInterface(serverId: string, nic: InterfaceSpec): Promise<void> {
    const s = this.servers.get(serverId);
    if (!s) throw new Error(`No server ${serverId} on ${this.cap.hostname}.`);
    // As on an engine: a server booted without networking (networks: none) takes no interfaces.
    if (s.spec.network === null) throw new ConflictError(`Server ${serverId} was booted without networking (networks: none) and cannot take interfaces.`);
    if (s.interfaces.has(nic.name)) throw new ConflictError(`Server ${serverId} already has an interface on this network; hafen servers take one interface per network.`);
    s.interfaces.set(nic.name, nic);
  }

  async detachInterface(serverId: string, networkName: string): Promise<void> {
    this.servers.get(serverId)?.interfaces.delete(networkName);
  }

  /** The server's interfaces by engine network name (for tests). */
  interfacesOf(serverId: string): string[] {
    return [...(this.servers.get(serverId)?.interfaces.keys() ?? [])];
  }

  async listServers(): Promise<{ serverId: string; power: PowerState }[]> {
    return [...this.servers].map(([serverId, s]) => ({ serverId, power: s.power }));
  }
}
