// The ruleset a remote host's floating-IP chains are replaced with: exact chains, one DNAT,
// masquerade and accept per address, and empty chains when none are left.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { floatingIpChains, remoteFloatingIpRuleset } from './floating-ip.ts';

describe('remote floating-IP ruleset', () => {
  it('declares (so flushes) the three chains and writes each address once per chain, sorted', () => {
    const text = remoteFloatingIpRuleset([
      { floatingIp: '127.64.0.9', target: '172.18.0.3' },
      { floatingIp: '127.64.0.5', target: '10.236.1.10' },
    ]);
    const lines = text.trim().split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('*') || l.startsWith(':') || l === 'COMMIT'), ['*nat', ':HAFEN-FIP - [0:0]', ':HAFEN-FIP-SNAT - [0:0]', 'COMMIT', '*filter', ':HAFEN-FIP-FWD - [0:0]', 'COMMIT']);
    const dnat = lines.filter((l) => l.startsWith('-A HAFEN-FIP '));
    assert.deepEqual(dnat, [
      '-A HAFEN-FIP -d 127.64.0.5/32 -m comment --comment "hafen-fip 127.64.0.5" -j DNAT --to-destination 10.236.1.10',
      '-A HAFEN-FIP -d 127.64.0.9/32 -m comment --comment "hafen-fip 127.64.0.9" -j DNAT --to-destination 172.18.0.3',
    ]);
    for (const chain of ['HAFEN-FIP-SNAT', 'HAFEN-FIP-FWD']) {
      const rules = lines.filter((l) => l.startsWith(`-A ${chain} `));
      assert.equal(rules.length, 2);
      assert.ok(rules.every((r) => r.includes('--ctstate DNAT --ctorigdst 127.64.0.')), rules.join('\n'));
    }
  });

  it('empties the chains when no floating IP is left', () => {
    assert.equal(remoteFloatingIpRuleset([]).split('\n').filter((l) => l.startsWith('-A')).length, 0);
  });
});

describe('port forwardings in the remote ruleset', () => {
  it('DNATs only the forwarded ports, to the internal port', () => {
    const text = remoteFloatingIpRuleset([{ floatingIp: '127.64.0.7', target: '10.1.0.5', forwards: [{ protocol: 'tcp', externalPort: 8080, internalPort: 80 }, { protocol: 'udp', externalPort: 53, internalPort: 5353 }] }]);
    assert.deepEqual(text.split('\n').filter((l) => l.startsWith('-A HAFEN-FIP ')), [
      '-A HAFEN-FIP -d 127.64.0.7/32 -p tcp --dport 8080 -m comment --comment "hafen-fip 127.64.0.7" -j DNAT --to-destination 10.1.0.5:80',
      '-A HAFEN-FIP -d 127.64.0.7/32 -p udp --dport 53 -m comment --comment "hafen-fip 127.64.0.7" -j DNAT --to-destination 10.1.0.5:5353',
    ]);
  });
});

describe('a cloud\'s floating-IP names', () => {
  it('carry its tag: chains, comment, and a packet mark and routing table of its own', () => {
    const a = floatingIpChains('fd3fcd');
    assert.deepEqual(a, { dnat: 'HAFEN-fd3fcd-FIP', snat: 'HAFEN-fd3fcd-FIP-SNAT', forward: 'HAFEN-fd3fcd-FIP-FWD', steer: 'HAFEN-fd3fcd-FIP-MARK', mark: 'hafen-fip fd3fcd', fwmark: 0x48fd3fcd, table: 0x48fd3fcd });
    const b = floatingIpChains('1422bf');
    assert.notEqual(a.fwmark, b.fwmark);
    assert.notEqual(a.table, b.table);
    // Never one of the kernel's own tables (253 default, 254 main, 255 local).
    assert.ok([a, b, floatingIpChains()].every((c) => c.table > 255));
  });
});
