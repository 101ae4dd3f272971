// The policy engine's decisions by role, scope and target, with operator overrides, for contexts made
// once per token (frozen, their credentials kept) and for contexts code builds and changes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PolicyEngine } from './policy.ts';
import type { RequestContext } from './context.ts';

const contextOf = (projectId: string, roles: string[]): RequestContext => ({
  userId: 'u1',
  userName: 'user',
  userDomainId: 'default',
  userDomainName: 'Default',
  scope: { kind: 'project', projectId, projectName: projectId, projectDomainId: 'default', projectDomainName: 'Default' },
  roles,
  auditId: 'a',
  expiresAt: new Date(Date.now() + 3600_000),
  issuedAt: new Date(),
  methods: ['password'],
  token: 't',
});

/** A context as the token service makes it: frozen, one object for every request of the token. */
const frozen = (ctx: RequestContext): RequestContext => Object.freeze({ ...ctx, scope: Object.freeze(ctx.scope), roles: Object.freeze([...ctx.roles]) as string[] });

describe('policy engine', () => {
  const rules = {
    'svc:admin': 'role:admin',
    'svc:owner': 'role:reader and project_id:%(project_id)s',
    'svc:owner_or_admin': 'rule:svc:admin or rule:svc:owner',
    'svc:nobody': '!',
    'svc:anybody': '',
  };

  it('decides by role and project for a frozen context, the same on every call', () => {
    const policy = new PolicyEngine();
    policy.registerDefaults(rules);
    const reader = frozen(contextOf('p1', ['reader']));
    for (let i = 0; i < 3; i++) {
      assert.equal(policy.authorize('svc:admin', reader), false);
      assert.equal(policy.authorize('svc:owner', reader, { project_id: 'p1' }), true);
      assert.equal(policy.authorize('svc:owner', reader, { project_id: 'p2' }), false, 'another project');
      assert.equal(policy.authorize('svc:owner_or_admin', reader, { project_id: 'p2' }), false);
      assert.equal(policy.authorize('svc:nobody', reader), false);
      assert.equal(policy.authorize('svc:anybody', reader), true);
      assert.equal(policy.authorize('svc:unregistered', reader), false, 'an action without a rule is denied');
    }
    const admin = frozen(contextOf('p1', ['admin', 'reader']));
    assert.equal(policy.authorize('svc:owner_or_admin', admin, { project_id: 'p2' }), true);
    // Two tokens of one user in different projects are two contexts: each is judged as its own.
    const other = frozen(contextOf('p2', ['reader']));
    assert.equal(policy.authorize('svc:owner', other, { project_id: 'p1' }), false);
    assert.equal(policy.authorize('svc:owner', other, { project_id: 'p2' }), true);
    assert.throws(() => policy.enforce('svc:admin', reader), /not authorized/);
  });

  it('follows a context that code changes between calls (not frozen)', () => {
    const policy = new PolicyEngine();
    policy.registerDefaults(rules);
    const ctx = contextOf('p1', ['reader']);
    assert.equal(policy.authorize('svc:admin', ctx), false);
    ctx.roles = ['admin'];
    assert.equal(policy.authorize('svc:admin', ctx), true);
    ctx.scope = { kind: 'project', projectId: 'p2', projectName: 'p2', projectDomainId: 'default', projectDomainName: 'Default' };
    ctx.roles = ['reader'];
    assert.equal(policy.authorize('svc:owner', ctx, { project_id: 'p2' }), true);
    assert.equal(policy.authorize('svc:owner', ctx, { project_id: 'p1' }), false);
  });

  it("lets an operator's file override a default", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-policy-'));
    try {
      const file = path.join(dir, 'policy.yaml');
      fs.writeFileSync(file, "'svc:admin': 'role:reader'\n");
      const policy = new PolicyEngine(file);
      policy.registerDefaults(rules);
      const reader = frozen(contextOf('p1', ['reader']));
      assert.equal(policy.authorize('svc:admin', reader), true);
      assert.equal(policy.rule('svc:admin'), 'role:reader');
      assert.equal(policy.authorize('svc:owner', reader, { project_id: 'p2' }), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
