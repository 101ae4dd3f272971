// A server's second (third...) interface on a network it already has: an engine plugs a container
// into a network once, so hafen makes the others itself as veth pairs, on the engine's own host.
// One end goes into the container's network namespace (`ip` run there, as the firewall's tool is) as
// the next ethN with the port's MAC and fixed IP; the other end joins the network's bridge.
import { runTool, runToolIn } from './run.ts';

/** The mark (ifalias) on interfaces hafen made in a container: only these are ever removed here. */
const MARK = 'hafen-port';

export interface ExtraInterface {
  /** Host end's name, at most 15 characters, carrying the cloud's tag (see docker/driver.ts). */
  hostName: string;
  /** The Linux bridge of the engine network on this host. */
  bridge: string;
  mac: string | null;
  ip: string;
  prefixLength: number;
  mtu: number;
}

interface Link {
  ifname: string;
  ifalias?: string;
  addr_info?: { family: string; local: string }[];
}

const inside = (pid: number, args: string[]) => runToolIn(pid, 'ip', args);

async function linksIn(pid: number): Promise<Link[]> {
  const addrs = JSON.parse((await inside(pid, ['-j', 'addr', 'show'])) || '[]') as Link[];
  const links = JSON.parse((await inside(pid, ['-j', 'link', 'show'])) || '[]') as Link[];
  const alias = new Map(links.map((l) => [l.ifname, l.ifalias]));
  return addrs.map((a) => ({ ...a, ...(alias.get(a.ifname) ? { ifalias: alias.get(a.ifname)! } : {}) }));
}

const holds = (l: Link, ip: string) => (l.addr_info ?? []).some((a) => a.family === 'inet' && a.local === ip);

/**
 * Plugs the interface into the namespace of process `pid` (the container's init). Idempotent: an
 * interface of the container that already holds the address is left as it is. All or nothing: if a
 * step fails, the pair is deleted again (deleting the host end takes the other with it).
 */
export async function plugExtraInterface(pid: number, nic: ExtraInterface): Promise<void> {
  // Only addresses hafen allocated reach these command lines; checked again here all the same.
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(nic.ip) || (nic.mac !== null && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(nic.mac))) throw new Error(`not an interface hafen makes: ${nic.ip} ${nic.mac}`);
  if (!/^[\w.-]{1,15}$/.test(nic.bridge) || !/^[\w-]{1,14}$/.test(nic.hostName) || !(nic.prefixLength >= 1 && nic.prefixLength <= 32)) throw new Error(`not a bridge or name hafen uses: ${nic.bridge} ${nic.hostName}`);
  const links = await linksIn(pid);
  if (links.some((l) => holds(l, nic.ip))) return;
  // The next ethN after the highest the container has (the engine's own and earlier ones of ours).
  const next = Math.max(-1, ...links.map((l) => /^eth(\d+)$/.exec(l.ifname)).filter((m) => m !== null).map((m) => Number(m![1]))) + 1;
  const name = `eth${next}`;
  // A host end left by a namespace that is still being torn down (or an earlier failed try).
  await runTool('ip', ['link', 'del', nic.hostName]).catch(() => undefined);
  const temporary = `${nic.hostName}p`.slice(-15);
  await runTool('ip', ['link', 'add', nic.hostName, 'mtu', String(nic.mtu), 'type', 'veth', 'peer', 'name', temporary, 'mtu', String(nic.mtu), 'netns', String(pid)]);
  try {
    await inside(pid, ['link', 'set', 'dev', temporary, 'name', name, ...(nic.mac ? ['address', nic.mac] : []), 'alias', MARK]);
    // The address without its subnet route: the subnet's routes stay on the server's first interface.
    await inside(pid, ['addr', 'add', `${nic.ip}/${nic.prefixLength}`, 'dev', name, 'noprefixroute']);
    await inside(pid, ['link', 'set', 'dev', name, 'up']);
    await runTool('ip', ['link', 'set', 'dev', nic.hostName, 'master', nic.bridge, 'up']);
  } catch (err) {
    await runTool('ip', ['link', 'del', nic.hostName]).catch(() => undefined);
    throw err;
  }
}

/** Removes the interface hafen made with this address in the namespace; none there is success. */
export async function unplugExtraInterface(pid: number, ip: string): Promise<void> {
  const link = (await linksIn(pid)).find((l) => l.ifalias === MARK && holds(l, ip));
  if (link) await inside(pid, ['link', 'del', 'dev', link.ifname]);
}
