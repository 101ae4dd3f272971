// Orchestration after a restart: a create interrupted by a stop (t.close()) or a crash (SIGKILL of
// the process serving the cloud) ends CREATE_FAILED, or ROLLBACK_COMPLETE when rollback is
// enabled, with no resource left IN_PROGRESS (nested stacks too); an interrupted update fails or
// rolls back to the previous template; an interrupted delete is finished.
//
// Run with HAFEN_RECOVERY_CHILD=1 this file is the crashing process instead: it serves a cloud on
// HAFEN_DATA_DIR/HAFEN_PORT and prints READY.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';

if (process.env.HAFEN_RECOVERY_CHILD) {
  await startComputeCloud('orchestration-recovery-child', { HAFEN_DATA_DIR: process.env.HAFEN_DATA_DIR!, HAFEN_PORT: process.env.HAFEN_PORT! });
  process.stdout.write('READY\n');
  setInterval(() => undefined, 1 << 30);
} else {
  describe('orchestration recovery after a restart', () => {
    let t: TestCloud;
    let child: ChildProcess | undefined;
    after(async () => {
      child?.kill('SIGKILL');
      await t?.close();
    });

    const slowTemplate = (deleteWait = 0) => ({
      heat_template_version: '2021-04-16',
      resources: {
        fast1: { type: 'OS::Heat::None' },
        fast2: { type: 'OS::Heat::Value', properties: { value: 'quick' } },
        fast3: { type: 'OS::Heat::RandomString', properties: { length: 6 } },
        slow: { type: 'OS::Heat::TestResource', properties: { value: 'slow', action_wait_secs: { create: 30, delete: deleteWait } } },
        later: { type: 'OS::Heat::None', depends_on: ['slow'] },
        // A nested stack creating when the engine goes.
        grp: { type: 'OS::Heat::ResourceGroup', properties: { count: 2, resource_def: { type: 'OS::Heat::TestResource', properties: { action_wait_secs: { create: 30 } } } } },
      },
    });

    const api = (cloud: TestCloud) => {
      let project: string | undefined;
      const call = async (method: string, p: string, body?: unknown) => {
        const token = await cloud.token('demo');
        if (!project) {
          const tok = await cloud.request('GET', '/identity/v3/auth/tokens', { token, headers: { 'x-subject-token': token } });
          project = tok.body.token.project.id as string;
        }
        return cloud.request(method, `/orchestration/v1/${project}${p}`, { token, body });
      };
      const stack = async (name: string) => {
        const r = await call('GET', `/stacks/${name}`);
        return r.status === 404 ? undefined : (r.body.stack as Record<string, any>);
      };
      const resources = async (name: string) => {
        const r = await call('GET', `/stacks/${name}/resources`);
        return r.body.resources as Record<string, any>[];
      };
      const statusOf = async (name: string, depth = 0) => {
        const r = await call('GET', `/stacks/${name}/resources?nested_depth=${depth}`);
        return (r.body.resources as Record<string, any>[]).map((x) => [`${x.parent_resource ? `${x.parent_resource}.` : ''}${x.resource_name}`, x.resource_status as string]).sort();
      };
      const nestedOf = async (name: string) => {
        const id = (await stack(name))?.id;
        const r = await call('GET', '/stacks?show_nested=true');
        return (r.body.stacks as Record<string, any>[]).filter((x) => x.parent === id);
      };
      const settled = (name: string, timeoutMs = 60_000) =>
        waitFor(`${name} settled`, async () => {
          const s = await stack(name);
          if (!s) return { stack_status: 'GONE' } as Record<string, any>;
          return s.stack_status.endsWith('IN_PROGRESS') ? undefined : s;
        }, timeoutMs);
      /** A stack recovery rolls back: it may say X_FAILED for a moment before ROLLBACK_IN_PROGRESS. */
      const rolledBack = (name: string) =>
        waitFor(`${name} rolled back`, async () => {
          const s = await stack(name);
          return s && /^ROLLBACK_(COMPLETE|FAILED)$/.test(s.stack_status) ? s : undefined;
        }).catch(async (err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(await stack(name))}`);
        });
      const create = async (name: string, template: unknown, disableRollback: boolean) => {
        const r = await call('POST', '/stacks', { stack_name: name, template, disable_rollback: disableRollback });
        assert.equal(r.status, 201, r.text);
      };
      /** Until the fast resources are done and `slow` is creating. */
      const midCreate = (name: string) =>
        waitFor(`${name} mid-create`, async () => {
          const st = Object.fromEntries(await statusOf(name));
          const ready = st.slow === 'CREATE_IN_PROGRESS' && st.grp === 'CREATE_IN_PROGRESS' && st.fast1 === 'CREATE_COMPLETE' && st.fast2 === 'CREATE_COMPLETE' && st.fast3 === 'CREATE_COMPLETE';
          return ready && (await nestedOf(name)).length === 1 ? st : undefined;
        });
      return { call, stack, resources, statusOf, nestedOf, settled, rolledBack, create, midCreate };
    };

    const restart = async (old: TestCloud) => {
      const { t: fresh } = await startComputeCloud('orchestration-recovery', { HAFEN_DATA_DIR: old.dataDir, HAFEN_PORT: old.env.HAFEN_PORT! });
      return fresh;
    };

    it('fails an interrupted create after a stop, or rolls it back, leaving nothing in progress', async () => {
      ({ t } = await startComputeCloud('orchestration-recovery'));
      const a = api(t);
      await a.create('norollback', slowTemplate(), true);
      await a.create('withrollback', slowTemplate(), false);
      await a.midCreate('norollback');
      await a.midCreate('withrollback');
      const started = Date.now();
      await t.close();
      assert.ok(Date.now() - started < 10_000, 'the stop does not wait for the slow create');

      t = await restart(t);
      const b = api(t);
      const failed = await b.settled('norollback');
      assert.equal(failed.stack_status, 'CREATE_FAILED');
      assert.match(failed.stack_status_reason, /restart/i);
      const rows = await b.statusOf('norollback', 1);
      assert.ok(!rows.some(([, s]) => s.endsWith('IN_PROGRESS')), JSON.stringify(rows));
      assert.deepEqual(Object.fromEntries(rows).fast1, 'CREATE_COMPLETE', 'what was made stays');
      assert.equal(Object.fromEntries(rows).slow, 'CREATE_FAILED');
      assert.equal(Object.fromEntries(rows).grp, 'CREATE_FAILED');
      assert.equal(Object.fromEntries(rows)['grp.0'], 'CREATE_FAILED', 'in the nested stack too');
      const nested = await b.nestedOf('norollback');
      assert.deepEqual(nested.map((n) => n.stack_status), ['CREATE_FAILED']);

      const rolled = await b.rolledBack('withrollback');
      assert.equal(rolled.stack_status, 'ROLLBACK_COMPLETE', rolled.stack_status_reason);
      assert.deepEqual(await b.resources('withrollback'), []);
      assert.deepEqual(await b.nestedOf('withrollback'), [], 'the nested stack is rolled back with it');

      // The failed stack can be deleted as usual.
      assert.equal((await b.call('DELETE', `/stacks/norollback/${failed.id}`)).status, 204);
      assert.equal((await b.settled('norollback')).stack_status, 'GONE');
    });

    it('finishes a delete interrupted by a stop', async () => {
      const a = api(t);
      const template = { heat_template_version: '2021-04-16', resources: { fast: { type: 'OS::Heat::None' }, slowdel: { type: 'OS::Heat::TestResource', properties: { action_wait_secs: { delete: 10 } } } } };
      await a.create('deleting', template, true);
      const s = await a.settled('deleting');
      assert.equal(s.stack_status, 'CREATE_COMPLETE');
      assert.equal((await a.call('DELETE', `/stacks/deleting/${s.id}`)).status, 204);
      await waitFor('slowdel deleting', async () => (Object.fromEntries(await a.statusOf('deleting')).slowdel === 'DELETE_IN_PROGRESS' ? true : undefined));
      assert.equal((await a.stack('deleting'))?.stack_status, 'DELETE_IN_PROGRESS');
      await t.close();

      t = await restart(t);
      const b = api(t);
      assert.equal((await b.settled('deleting')).stack_status, 'GONE');
    });

    it('fails an interrupted update, or rolls it back to the previous template', async () => {
      const a = api(t);
      const tpl = (value: string) => ({
        heat_template_version: '2021-04-16',
        resources: { keep: { type: 'OS::Heat::TestResource', properties: { value, action_wait_secs: { update: 30 } } }, other: { type: 'OS::Heat::None' } },
        outputs: { v: { value: { get_attr: ['keep', 'output'] } } },
      });
      const ids: Record<string, string> = {};
      for (const [name, disable] of [['upd-norb', true], ['upd-rb', false]] as const) {
        await a.create(name, tpl('one'), disable);
        const s = await a.settled(name);
        assert.equal(s.stack_status, 'CREATE_COMPLETE');
        ids[name] = s.id;
        const r = await a.call('PUT', `/stacks/${name}/${s.id}`, { template: tpl('two') });
        assert.equal(r.status, 202, r.text);
      }
      for (const name of ['upd-norb', 'upd-rb']) {
        await waitFor(`${name} updating`, async () => (Object.fromEntries(await a.statusOf(name)).keep === 'UPDATE_IN_PROGRESS' ? true : undefined));
      }
      await t.close();

      t = await restart(t);
      const b = api(t);
      const failed = await b.settled('upd-norb');
      assert.equal(failed.stack_status, 'UPDATE_FAILED');
      const rows = await b.statusOf('upd-norb');
      assert.ok(!rows.some(([, s]) => s.endsWith('IN_PROGRESS')), JSON.stringify(rows));
      const rolled = await b.rolledBack('upd-rb');
      assert.equal(rolled.stack_status, 'ROLLBACK_COMPLETE', rolled.stack_status_reason);
      const rows2 = await b.statusOf('upd-rb');
      assert.ok(!rows2.some(([, s]) => s.endsWith('IN_PROGRESS')), JSON.stringify(rows2));
      assert.deepEqual(rows2.map(([n]) => n), ['keep', 'other']);
      assert.equal(rolled.outputs.find((o: { output_key: string }) => o.output_key === 'v').output_value, 'one', 'back to the previous template');
      const tplNow = await b.call('GET', `/stacks/upd-rb/${ids['upd-rb']}/template`);
      assert.equal(tplNow.body.resources.keep.properties.value, 'one');
    });

    it('recovers the same way after a crash (SIGKILL) mid-create and mid-delete', async () => {
      // The cloud of the earlier tests closes; a child process serves the same data dir and is killed.
      const dataDir = t.dataDir;
      const port = t.env.HAFEN_PORT!;
      await t.close();
      const startChild = async () => {
        const c = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
          env: { ...process.env, HAFEN_RECOVERY_CHILD: '1', HAFEN_DATA_DIR: dataDir, HAFEN_PORT: port },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        c.stdout!.on('data', (b) => (out += b));
        c.stderr!.on('data', (b) => (out += b));
        await waitFor('child cloud READY', async () => {
          if (c.exitCode !== null) throw new Error(`child exited ${c.exitCode}: ${out}`);
          return out.includes('READY') ? true : undefined;
        }, 60_000);
        return c;
      };
      const kill = async (c: ChildProcess) => {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await exited;
      };
      child = await startChild();
      // A TestCloud-like client of the child: requests and tokens through the same helper shape.
      const remote = remoteCloud(`http://127.0.0.1:${port}`, dataDir);
      const a = api(remote);
      await a.create('crash-norb', slowTemplate(), true);
      await a.create('crash-rb', slowTemplate(), false);
      await a.create('crash-del', { heat_template_version: '2021-04-16', resources: { fast: { type: 'OS::Heat::None' }, slowdel: { type: 'OS::Heat::TestResource', properties: { action_wait_secs: { delete: 10 } } } } }, true);
      await a.midCreate('crash-norb');
      await a.midCreate('crash-rb');
      const d = await a.settled('crash-del');
      assert.equal(d.stack_status, 'CREATE_COMPLETE');
      assert.equal((await a.call('DELETE', `/stacks/crash-del/${d.id}`)).status, 204);
      await waitFor('slowdel deleting', async () => (Object.fromEntries(await a.statusOf('crash-del')).slowdel === 'DELETE_IN_PROGRESS' ? true : undefined));
      await kill(child);
      child = undefined;

      t = await startComputeCloud('orchestration-recovery', { HAFEN_DATA_DIR: dataDir, HAFEN_PORT: port }).then((c) => c.t);
      const b = api(t);
      const failed = await b.settled('crash-norb');
      assert.equal(failed.stack_status, 'CREATE_FAILED');
      const rows = await b.statusOf('crash-norb', 1);
      assert.ok(!rows.some(([, s]) => s.endsWith('IN_PROGRESS')), JSON.stringify(rows));
      assert.equal(Object.fromEntries(rows).slow, 'CREATE_FAILED');
      assert.deepEqual((await b.nestedOf('crash-norb')).map((n) => n.stack_status), ['CREATE_FAILED']);
      const rolled = await b.rolledBack('crash-rb');
      assert.equal(rolled.stack_status, 'ROLLBACK_COMPLETE', rolled.stack_status_reason);
      assert.deepEqual(await b.resources('crash-rb'), []);
      assert.deepEqual(await b.nestedOf('crash-rb'), []);
      // The delete is finished (the TestResource's delete wait runs again).
      assert.equal((await b.settled('crash-del')).stack_status, 'GONE');
    });
  });
}

/** Requests and tokens against a cloud served by another process on the same data dir. */
function remoteCloud(url: string, dataDir: string): TestCloud {
  let token: string | undefined;
  const request: TestCloud['request'] = async (method, urlPath, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers['x-auth-token'] = opts.token;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${urlPath}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, body, text };
  };
  return {
    url,
    dataDir,
    env: {},
    cloud: undefined as never,
    request,
    async token() {
      if (token) return token;
      const { readFileSync } = await import('node:fs');
      const creds = JSON.parse(readFileSync(`${dataDir}/bootstrap-credentials.json`, 'utf8'));
      const r = await request('POST', '/identity/v3/auth/tokens', {
        body: { auth: { identity: { methods: ['password'], password: { user: { name: creds.demo.username, domain: { id: 'default' }, password: creds.demo.password } } }, scope: { project: { name: creds.demo.project, domain: { id: 'default' } } } } },
      });
      token = r.headers.get('x-subject-token')!;
      return token;
    },
    openstack: () => Promise.reject(new Error('not available')),
    close: async () => undefined,
  };
}
