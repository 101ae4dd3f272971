// The firewall compiler: a server's ports become one iptables-restore table, each port's rules bound to
// its own addresses, nothing leaving from an address no port holds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { onlyWidens, serverRuleset } from './firewall.ts';
import type { PortFirewall } from './contract.ts';

const web: PortFirewall = {
  portId: 'p1',
  portSecurityEnabled: true,
  addresses: ['10.0.0.5'],
  rules: [
    { direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80, remoteCidrs: ['0.0.0.0/0'] },
    { direction: 'ingress', protocol: 'icmp', portMin: 8, portMax: null, remoteCidrs: ['10.0.0.0/24', '10.0.1.7/32'] },
    { direction: 'egress', protocol: null, portMin: null, portMax: null, remoteCidrs: ['0.0.0.0/0'] },
  ],
};

const lines = (text: string) => text.split('\n').filter((l) => l.startsWith('-A'));

describe('firewall compiler', () => {
  it('drops by default, keeps state, and binds each rule to the port\'s address', () => {
    const text = serverRuleset([web]);
    assert.match(text, /^\*filter\n:INPUT DROP \[0:0\]\n:FORWARD DROP \[0:0\]\n:OUTPUT DROP \[0:0\]\n/);
    assert.ok(text.endsWith('COMMIT\n'));
    assert.deepEqual(lines(text).slice(6), [
      '-A INPUT -d 10.0.0.5 -p tcp --dport 80 -j ACCEPT',
      '-A INPUT -d 10.0.0.5 -s 10.0.0.0/24 -p icmp --icmp-type 8 -j ACCEPT',
      '-A INPUT -d 10.0.0.5 -s 10.0.1.7/32 -p icmp --icmp-type 8 -j ACCEPT',
      '-A OUTPUT -s 10.0.0.5 -j ACCEPT',
    ]);
    assert.deepEqual(lines(text).slice(0, 6), [
      '-A INPUT -i lo -j ACCEPT',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A INPUT -m conntrack --ctstate INVALID -j DROP',
      '-A OUTPUT -o lo -j ACCEPT',
      '-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A OUTPUT -m conntrack --ctstate INVALID -j DROP',
    ]);
  });

  it('keeps two ports apart: an open port does not open the other', () => {
    const open: PortFirewall = { portId: 'p2', portSecurityEnabled: false, rules: [], addresses: ['10.9.0.7'] };
    const rules = lines(serverRuleset([web, open])).slice(6);
    assert.ok(rules.includes('-A INPUT -d 10.9.0.7 -j ACCEPT'));
    assert.ok(rules.includes('-A OUTPUT -s 10.9.0.7 -j ACCEPT'));
    assert.ok(!rules.includes('-A INPUT -j ACCEPT'), 'no rule accepts every destination');
    assert.ok(rules.every((r) => / -[ds] 10\.(0\.0\.5|9\.0\.7) /.test(r)), rules.join('\n'));
  });

  it('counts the container\'s other addresses (an overlay\'s gateway leg) as the first port\'s', () => {
    const rules = lines(serverRuleset([web], ['172.18.0.3'])).slice(6);
    assert.ok(rules.includes('-A INPUT -d 172.18.0.3 -p tcp --dport 80 -j ACCEPT'));
    assert.ok(rules.includes('-A OUTPUT -s 172.18.0.3 -j ACCEPT'));
  });

  it('adds allowed address pairs to what the port may send from', () => {
    const pair: PortFirewall = { ...web, addresses: ['10.0.0.5', '10.0.0.100/32'] };
    assert.ok(lines(serverRuleset([pair])).includes('-A OUTPUT -s 10.0.0.100/32 -j ACCEPT'));
  });

  it('accepts everything for ports without port security and without addresses (older controllers)', () => {
    assert.equal(lines(serverRuleset([{ portId: 'p', portSecurityEnabled: false, rules: [] }])).length, 0);
    assert.match(serverRuleset([]), /:INPUT ACCEPT/);
    // Rules without addresses match any address of the container.
    assert.ok(lines(serverRuleset([{ ...web, addresses: undefined }])).includes('-A INPUT -p tcp --dport 80 -j ACCEPT'));
  });

  it('tells a change that only allows more (tracked flows may stay) from one that takes anything away', () => {
    const base = serverRuleset([web]);
    const ssh = { direction: 'ingress' as const, protocol: 'tcp', portMin: 22, portMax: 22, remoteCidrs: ['10.9.0.0/16'] };
    const wider = serverRuleset([{ ...web, rules: [...web.rules, ssh] }]);
    assert.ok(onlyWidens(base, wider));
    assert.ok(onlyWidens(base, base));
    // A rule removed, a rule narrowed, an address gone, port security turned on: the flows must go.
    assert.ok(!onlyWidens(wider, base));
    assert.ok(!onlyWidens(base, serverRuleset([{ ...web, rules: [{ ...web.rules[0]!, remoteCidrs: ['10.0.0.0/8'] }, ...web.rules.slice(1)] }])));
    assert.ok(!onlyWidens(serverRuleset([{ ...web, addresses: ['10.0.0.5', '10.0.0.6'] }]), base));
    assert.ok(!onlyWidens(serverRuleset([{ ...web, portSecurityEnabled: false }]), base));
    assert.ok(!onlyWidens(serverRuleset([]), base));
    // An added line that is not an ACCEPT is never a widening.
    assert.ok(!onlyWidens(base, base.replace('COMMIT', '-A INPUT -p tcp -j DROP\nCOMMIT')));
  });
});
