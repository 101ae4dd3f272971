// The host guard's rule set: replies and the allowed ports pass, the rest of tenant traffic to the host drops.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { cloudTag, hostGuardJumps, hostGuardRuleset } from './host-guard.ts';

it('drops tenant traffic to the host except replies and the allowed ports', () => {
  const tag = cloudTag('3f2a9c1e-0000-4000-8000-000000000000');
  assert.equal(tag, '3f2a9c');
  const rules = hostGuardRuleset({ tag, interfaces: ['hf3f2a9c+'], allowTcpPorts: [8780, 8780] });
  assert.equal(
    rules,
    [
      '*filter',
      ':HAFEN-3f2a9c-GUARD - [0:0]',
      '-A HAFEN-3f2a9c-GUARD -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
      '-A HAFEN-3f2a9c-GUARD -p tcp -m tcp --dport 8780 -j RETURN',
      '-A HAFEN-3f2a9c-GUARD -m comment --comment "hafen: tenant traffic to the host" -j DROP',
      'COMMIT',
      '',
    ].join('\n'),
  );
  const jumps = hostGuardJumps({ tag, interfaces: ['hf3f2a9c+', 'docker_gwbridge'], allowTcpPorts: [] });
  assert.match(jumps, /-C INPUT -i hf3f2a9c\+ -j HAFEN-3f2a9c-GUARD .*\|\| \$I -I INPUT 1 -i hf3f2a9c\+ -j HAFEN-3f2a9c-GUARD/);
  assert.match(jumps, /-i docker_gwbridge -j HAFEN-3f2a9c-GUARD/);
  assert.throws(() => cloudTag('xyz'), /gives no tag/);
});
