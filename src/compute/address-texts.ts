// Servers' addresses as the JSON text Nova's views hold, kept while the network service's count of
// address changes stays the same: a page of a thousand kept views then reads one counter, not every port.
import type { NetworkClient } from '../network/client.ts';

/** How many servers' texts are kept (the oldest kept go first). */
const MAX_SERVERS = 20_000;

export class AddressTexts {
  private readonly kept = new Map<string, string>();
  /** The network's count of address changes the kept texts were read at. */
  private generation: number | undefined;

  constructor(private readonly network: Pick<NetworkClient, 'serversAddresses' | 'addressesGeneration'>) {}

  /**
   * Each server's addresses (network name -> fixed and floating addresses) as JSON text, as the
   * network service answers them now. With `keep`, texts read before are answered while nothing they
   * are made of changed, and those read now are kept unless something changed during the read.
   */
  async of(serverIds: string[], keep = true): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!serverIds.length) return out;
    if (!keep) {
      const read = await this.network.serversAddresses(serverIds);
      for (const id of serverIds) out.set(id, JSON.stringify(read.get(id) ?? {}));
      return out;
    }
    const before = await this.network.addressesGeneration();
    if (before === undefined || before !== this.generation) {
      this.kept.clear();
      this.generation = before;
    }
    const missing: string[] = [];
    for (const id of serverIds) {
      const text = this.kept.get(id);
      if (text === undefined) missing.push(id);
      else out.set(id, text);
    }
    if (!missing.length) return out;
    const read = await this.network.serversAddresses(missing);
    // A change committed while the rows were read may or may not be in them: then none is kept.
    const still = before !== undefined && (await this.network.addressesGeneration()) === before && this.generation === before;
    for (const id of missing) {
      const text = JSON.stringify(read.get(id) ?? {});
      out.set(id, text);
      if (!still) continue;
      if (this.kept.size >= MAX_SERVERS) this.kept.delete(this.kept.keys().next().value!);
      this.kept.set(id, text);
    }
    return out;
  }
}
