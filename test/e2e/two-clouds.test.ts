// Two clouds on one machine do not clobber each other (issue 13, "Running beside others"): each on
// the same engine with a floating IP of its own, in a range of its own, NATed in chains named with
// its own cloud tag, its servers on bridges named with it; both answer, and after one cloud stops
// (taking its floating IPs off the machine) the other still answers. Every engine on a machine (other
// clouds', other test runs') adds its bridges' routes to the one main routing table, and engines do not
// see each other's subnets: here a bridge with cloud A's subnet is on the machine before A's, and A's
// floating IP must still reach A's server, not that bridge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { engineClient } from '../../src/host/engine-client.ts';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { waitFor } from '../helpers/compute.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { runTool } from '../../src/agent/net/run.ts';
import { cloudTag } from '../../src/agent/docker/host-guard.ts';

/** The page at the address, or undefined when nothing answers within 2 s. */
async function page(address: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${address}:8080/`, { signal: AbortSignal.timeout(2000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
}

interface Tenant {
  t: TestCloud;
  tag: string;
  fip: string;
  cidr: string;
  /** Deletes the cloud's server and its engine network (a rerun on this engine needs the subnet again). */
  cleanUp(): Promise<void>;
}

describe('two clouds on one machine', () => {
  const clouds: TestCloud[] = [];
  const cleanUps: (() => Promise<void>)[] = [];
  // Another engine's bridge with cloud A's subnet, made first: its route comes first in the main table.
  const decoy = `hfdecoy${randomBytes(3).toString('hex')}`;

  /** A cloud on the shared engine with one web server behind a floating IP that serves `word`. */
  async function cloudServing(name: string, word: string, cidr: string): Promise<Tenant> {
    const socket = await testEngineSocket();
    const t = await startTestCloud(name, { HAFEN_DOCKER_HOSTS: `unix://${socket}`, HAFEN_RECONCILE_INTERVAL: '1' });
    clouds.push(t);
    const token = await t.token('demo');
    const api = async (method: string, urlPath: string, body?: unknown, headers?: Record<string, string>) => {
      const r = await t.request(method, urlPath, { token, body, ...(headers ? { headers } : {}) });
      if (r.status >= 300) throw new Error(`${name}: ${method} ${urlPath}: ${r.status} ${r.text}`);
      return r.body;
    };
    const image = (await api('POST', '/image/v2/images', { name: 'web', container_format: 'docker', disk_format: 'raw' })).id;
    const archive = busyboxDockerArchive({ cmd: ['sh', '-c', `mkdir -p /tmp/www && echo ${word} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`] });
    await api('PUT', `/image/v2/images/${image}/file`, archive, { 'content-type': 'application/octet-stream' });
    const net = (await api('POST', '/network/v2.0/networks', { network: { name: 'web' } })).network.id;
    const subnet = (await api('POST', '/network/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr } })).subnet.id;
    const router = (await api('POST', '/network/v2.0/routers', { router: { name: 'r', external_gateway_info: { network_id: t.cloud.network.externalNetworkId } } })).router.id;
    await api('PUT', `/network/v2.0/routers/${router}/add_router_interface`, { subnet_id: subnet });
    const group = (await api('GET', '/network/v2.0/security-groups?name=default')).security_groups[0].id;
    await api('POST', '/network/v2.0/security-group-rules', { security_group_rule: { security_group_id: group, direction: 'ingress', protocol: 'tcp', port_range_min: 8080, port_range_max: 8080, remote_ip_prefix: '0.0.0.0/0' } });
    const server = (await api('POST', '/compute/v2.1/servers', { server: { name: 'web', imageRef: image, flavorRef: '1', networks: [{ uuid: net }] } })).server.id;
    await waitFor(`${name} server ACTIVE`, async () => {
      const s = (await api('GET', `/compute/v2.1/servers/${server}`)).server;
      if (s.status === 'ERROR') throw new Error(`${name}: ${JSON.stringify(s.fault)}`);
      return s.status === 'ACTIVE' ? true : undefined;
    }, 120_000);
    const port = (await api('GET', `/compute/v2.1/servers/${server}/os-interface`)).interfaceAttachments[0].port_id;
    const fip = (await api('POST', '/network/v2.0/floatingips', { floatingip: { floating_network_id: t.cloud.network.externalNetworkId, port_id: port } })).floatingip.floating_ip_address as string;
    const cleanUp = async () => {
      const docker = engineClient(`unix://${socket}`);
      await docker.getContainer(`hafen-${server}`).remove({ force: true, v: true }).catch(() => undefined);
      await docker.getNetwork(`hafen-net-${net}`).remove().catch(() => undefined);
    };
    cleanUps.push(cleanUp);
    return { t, tag: cloudTag(t.cloud.compute.service.hosts.cloudId), fip, cidr, cleanUp };
  }

  let a: Tenant;
  let b: Tenant;
  before(async () => {
    await runTool('ip', ['link', 'add', 'name', decoy, 'type', 'bridge']);
    await runTool('ip', ['addr', 'add', '10.93.0.1/24', 'dev', decoy]);
    await runTool('ip', ['link', 'set', decoy, 'up']);
    // (Clouds sharing an engine share its address space: their tenant subnets may not overlap.)
    a = await cloudServing('two-clouds-a', 'from-a', '10.93.0.0/24');
    b = await cloudServing('two-clouds-b', 'from-b', '10.94.0.0/24');
  });
  after(async () => {
    for (const t of clouds) await t.close().catch(() => undefined);
    for (const cleanUp of cleanUps) await cleanUp();
    await runTool('ip', ['link', 'del', decoy]).catch(() => undefined);
  });

  it('keeps each cloud\'s names, addresses and floating IPs its own, and one survives the other stopping', async () => {
    assert.notEqual(a.tag, b.tag);
    assert.notEqual(a.fip, b.fip, 'each cloud takes floating IPs from a range of its own');
    assert.match(await runTool('ip', ['-4', 'route', 'show', a.cidr]), new RegExp(`dev ${decoy} `), 'the decoy bridge holds A\'s subnet too');
    assert.equal(await waitFor('A answers', () => page(a.fip), 60_000), 'from-a');
    assert.equal(await waitFor('B answers', () => page(b.fip), 60_000), 'from-b');

    // Every name each made on the machine carries its tag: NAT chains, bridges, host guards.
    const nat = await runTool('iptables', ['-w', '5', '-t', 'nat', '-S']);
    for (const { tag, fip } of [a, b]) {
      assert.match(nat, new RegExp(`-A HAFEN-${tag}-FIP -d ${fip.replace(/\./g, '\\.')}/32 .*hafen-fip ${tag} `), `cloud ${tag}'s floating IP in its own chain`);
    }
    const links = await runTool('ip', ['-o', 'link', 'show']);
    const filter = await runTool('iptables', ['-w', '5', '-S', 'INPUT']);
    const mangle = await runTool('iptables', ['-w', '5', '-t', 'mangle', '-S']);
    for (const { tag, fip } of [a, b]) {
      assert.match(links, new RegExp(`: hf${tag}[0-9a-f]{7}[:@]`), `a bridge of cloud ${tag}`);
      assert.match(filter, new RegExp(`-A INPUT -i hf${tag}\\+ -j HAFEN-${tag}-GUARD`), `cloud ${tag}'s host guard`);
      // Its floating IP's packets are marked for its own routing table, which names its own bridge.
      assert.match(mangle, new RegExp(`-A HAFEN-${tag}-FIP-MARK -d ${fip.replace(/\./g, '\\.')}/32 .*hafen-fip ${tag} `), `cloud ${tag}'s steering mark`);
      const table = String(0x48000000 + parseInt(tag, 16));
      assert.match(await runTool('ip', ['-4', 'route', 'show', 'table', table]), new RegExp(`dev hf${tag}[0-9a-f]{7}`), `cloud ${tag}'s table routes to its bridge`);
    }

    // A stops (its floating IPs leave the machine); B's still answers, A's does not.
    await a.t.close();
    clouds.splice(clouds.indexOf(a.t), 1);
    assert.equal(await page(a.fip), undefined, "A's floating IP went with A");
    assert.equal(await page(b.fip), 'from-b', "B's floating IP still answers");
    const after = await runTool('iptables', ['-w', '5', '-t', 'nat', '-S']);
    assert.doesNotMatch(after, new RegExp(`hafen-fip ${a.tag} ${a.fip.replace(/\./g, '\\.')}"`));
    assert.match(after, new RegExp(`hafen-fip ${b.tag} ${b.fip.replace(/\./g, '\\.')}"`));
    // A's chains, steering rule and table left with it; B's stayed.
    assert.doesNotMatch(after, new RegExp(`HAFEN-${a.tag}-FIP`), "A's NAT chains are gone");
    assert.doesNotMatch(await runTool('iptables', ['-w', '5', '-t', 'mangle', '-S']), new RegExp(`HAFEN-${a.tag}-FIP-MARK`), "A's mangle chain is gone");
    const rules = await runTool('ip', ['rule', 'show']);
    assert.doesNotMatch(rules, new RegExp(`lookup ${0x48000000 + parseInt(a.tag, 16)}\\b`), "A's steering rule is gone");
    assert.match(rules, new RegExp(`lookup ${0x48000000 + parseInt(b.tag, 16)}\\b`), "B's steering rule stays");
    assert.equal(await page(b.fip), 'from-b', "B's floating IP answers after A cleaned up");
  });
});
