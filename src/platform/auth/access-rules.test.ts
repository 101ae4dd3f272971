// Access-rule paths as keystonemiddleware reads them: `*` and `{name}` one segment, `**` any number.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessRulePattern, allowedByAccessRules } from './access-rules.ts';

describe('access rules', () => {
  it('matches literal paths exactly', () => {
    assert.ok(accessRulePattern('/v2/images').test('/v2/images'));
    assert.ok(!accessRulePattern('/v2/images').test('/v2/images/x'));
    assert.ok(!accessRulePattern('/v2/images').test('/v2/imagesx'));
    assert.ok(!accessRulePattern('/v2.1/servers').test('/v201/servers'), 'a dot is a dot');
  });

  it('reads * and {name} as one segment and ** as any number', () => {
    for (const p of ['/v2/images/*', '/v2/images/{image_id}']) {
      assert.ok(accessRulePattern(p).test('/v2/images/abc'), p);
      assert.ok(!accessRulePattern(p).test('/v2/images/abc/file'), p);
      assert.ok(!accessRulePattern(p).test('/v2/images/'), p);
    }
    assert.ok(accessRulePattern('/v2/images/**').test('/v2/images/abc/file'));
    assert.ok(accessRulePattern('/v2.1/servers/*/action').test('/v2.1/servers/abc/action'));
    assert.ok(!accessRulePattern('/v2.1/servers/*/action').test('/v2.1/servers/a/b/action'));
  });

  it('needs service, method and path to agree', () => {
    const rules = [{ id: '1', service: 'image', method: 'GET', path: '/v2/images' }];
    assert.ok(allowedByAccessRules(rules, 'image', 'GET', '/v2/images'));
    assert.ok(!allowedByAccessRules(rules, 'compute', 'GET', '/v2/images'));
    assert.ok(!allowedByAccessRules(rules, 'image', 'POST', '/v2/images'));
    assert.ok(!allowedByAccessRules(rules, 'image', 'GET', '/v2/images/../../v2.1/servers'));
    assert.ok(!allowedByAccessRules([], 'image', 'GET', '/v2/images'));
  });
});
