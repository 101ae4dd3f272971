// No stack request can stall the controller (issue 11 item 6), played as a tenant would: groups of
// groups past the resource limit (caught at validation, and at run time when the count is only
// known then), a repeat that multiplies, str_replace that doubles, a parameter pattern that
// backtracks, and a template at the size limit; meanwhile a flavor list keeps answering at once.
// And template_url (item 5): an endless body is cut off at the size limit, and the cloud's own
// ports (its API and agent endpoint) are not fetched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import http from 'node:http';

describe('orchestration bounds', () => {
  let t: TestCloud;
  let demo: string;
  let project: string;
  const H = () => `/orchestration/v1/${project}`;
  const settled = (name: string) =>
    waitFor(`${name} settled`, async () => {
      const r = await t.request('GET', `${H()}/stacks/${name}`, { token: demo });
      if (r.status === 404) return { stack_status: 'GONE' } as Record<string, any>;
      return r.body.stack.stack_status.endsWith('IN_PROGRESS') ? undefined : (r.body.stack as Record<string, any>);
    }, 240_000);

  /**
   * Runs `work` while flavor lists are asked for one after another; returns the work's result and
   * the slowest answers. The machine may be shared: the median must be quick and no answer may wait
   * for the work (which stalled the API for seconds to minutes before these bounds).
   */
  async function whileListing<T>(work: () => Promise<T>): Promise<{ result: T; times: number[]; median: number; worst: number; count: number }> {
    // The machine's load changes over the file's run (other files start and end): the baseline the
    // answers are held to is taken just before the work, at the load it meets.
    baseline = await listing(() => new Promise((resolve) => setTimeout(resolve, 1000)));
    return listing(work);
  }
  async function listing<T>(work: () => Promise<T>): Promise<{ result: T; times: number[]; median: number; worst: number; count: number }> {
    const times: number[] = [];
    let done = false;
    const lister = (async () => {
      while (!done) {
        const started = performance.now();
        const r = await t.request('GET', '/compute/v2.1/flavors', { token: demo });
        assert.equal(r.status, 200);
        times.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      const result = await work();
      return { result, ...summary(times) };
    } finally {
      done = true;
      await lister;
    }
  }
  const summary = (times: number[]) => {
    const sorted = [...times].sort((a, b) => a - b);
    return { times, median: sorted[Math.floor(sorted.length / 2)] ?? 0, worst: sorted.at(-1) ?? 0, count: sorted.length };
  };
  /** What a flavor list takes with nothing else going on in this process (the machine may be shared and slow), just before a work. */
  let baseline = { median: 0, worst: 0 };
  /**
   * The API kept answering: flavor lists within 100 ms (beyond what they take alone) but for a few
   * (the machine's two cores are shared with the work itself and, in a test run, other files), and
   * none held up for seconds (before these bounds, others waited seconds to minutes).
   */
  const responsive = (m: { times: number[]; worst: number; count: number }, what: string) => {
    assert.ok(m.count > 0, `${what}: some flavor lists were answered`);
    const slow = m.times.filter((x) => x > 100 + baseline.median);
    assert.ok(slow.length <= Math.max(2, Math.floor(m.count / 4)), `${what}: ${slow.length} of ${m.count} flavor lists took over 100 ms: ${slow.map((x) => x.toFixed(0)).join(', ')}`);
    assert.ok(m.worst < 3000 + baseline.worst, `${what}: the slowest flavor list took ${m.worst.toFixed(0)} ms`);
  };

  before(async () => {
    ({ t } = await startComputeCloud('orchestration-bounds'));
    demo = await t.token('demo');
    project = (await t.request('GET', '/identity/v3/auth/tokens', { token: demo, headers: { 'x-subject-token': demo } })).body.token.project.id;
  });
  after(async () => {
    await t?.close();
  });

  const groups = (outer: unknown) => ({
    heat_template_version: '2021-04-16',
    resources: {
      v: { type: 'OS::Heat::Value', properties: { value: 300, type: 'number' } },
      outer: {
        type: 'OS::Heat::ResourceGroup',
        properties: { count: outer, resource_def: { type: 'OS::Heat::ResourceGroup', properties: { count: 300, resource_def: { type: 'OS::Heat::None' } } } },
      },
    },
  });

  it('refuses groups of groups past the limit of the whole tree at once', async () => {
    const m = await whileListing(() => t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'groups', template: groups(300) } }));
    assert.equal(m.result.status, 400, m.result.text);
    assert.match(m.result.body.error.message, /more than the maximum of 1000/);
    responsive(m, 'validating 300 groups of 300');
    const big = await t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'group', template: { heat_template_version: '2021-04-16', resources: { g: { type: 'OS::Heat::ResourceGroup', properties: { count: 100000, resource_def: { type: 'OS::Heat::None' } } } } } } });
    assert.equal(big.status, 400, big.text);
  });

  it('stops groups of groups whose size is only known at run time at the limit, and deletes them', async () => {
    const m = await whileListing(async () => {
      const r = await t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'lategroups', template: groups({ get_attr: ['v', 'value'] }) } });
      assert.equal(r.status, 201, r.text);
      return settled('lategroups');
    });
    assert.equal(m.result.stack_status, 'CREATE_FAILED');
    assert.match(m.result.stack_status_reason, /more than the maximum of 1000/);
    responsive(m, 'creating groups of groups');
    const nested = (await t.request('GET', `${H()}/stacks?show_nested=true`, { token: demo })).body.stacks as unknown[];
    assert.ok(nested.length <= 5, `at most a few nested stacks were made (${nested.length})`);
    const d = await whileListing(async () => {
      const r = await t.request('DELETE', `${H()}/stacks/lategroups/${m.result.id}`, { token: demo });
      assert.equal(r.status, 204, r.text);
      return settled('lategroups');
    });
    assert.equal(d.result.stack_status, 'GONE');
    responsive(d, 'deleting groups of groups');
  });

  it('refuses a repeat that multiplies and str_replace that doubles, quickly', async () => {
    const list = Array.from({ length: 1000 }, (_, i) => `x${i}`);
    const m = await whileListing(() =>
      t.request('POST', `${H()}/validate`, {
        token: demo,
        body: { template: { heat_template_version: '2021-04-16', resources: { v: { type: 'OS::Heat::Value', properties: { value: { repeat: { for_each: { '%a%': list, '%b%': list }, template: '%a%-%b%' } } } } } } },
      }),
    );
    assert.equal(m.result.status, 400, m.result.text);
    assert.match(m.result.body.error.message, /repeat/);
    responsive(m, 'a repeat of a million');
    let doubled: unknown = 'xxxxxxxxxxxxxxxx';
    for (let i = 0; i < 40; i++) doubled = { str_replace: { template: 'xx', params: { x: doubled } } };
    const s = await t.request('POST', `${H()}/validate`, { token: demo, body: { template: { heat_template_version: '2021-04-16', resources: { v: { type: 'OS::Heat::Value', properties: { value: doubled } } } } } });
    assert.equal(s.status, 400, s.text);
    assert.match(s.body.error.message, /more than/);
  });

  it('checks a parameter\'s allowed_pattern without backtracking, and a slow one off the event loop', async () => {
    const template = (pattern: string) => ({ heat_template_version: '2021-04-16', parameters: { p: { type: 'string', constraints: [{ allowed_pattern: pattern }] } }, resources: {} });
    const m = await whileListing(() => t.request('POST', `${H()}/validate`, { token: demo, body: { template: template('(a+)+$'), parameters: { p: `${'a'.repeat(40)}!` } } }));
    assert.equal(m.result.status, 400, m.result.text);
    assert.match(m.result.body.error.message, /does not match pattern/);
    responsive(m, 'a backtracking pattern');
    const ok = await t.request('POST', `${H()}/validate`, { token: demo, body: { template: template('[a-z]+'), parameters: { p: 'abc' } } });
    assert.equal(ok.status, 200, ok.text);
    const slow = await whileListing(() => t.request('POST', `${H()}/validate`, { token: demo, body: { template: template('(?:[a-z]{0,100}){0,10}'), parameters: { p: 'x'.repeat(200_000) } } }));
    assert.equal(slow.result.status, 400, slow.result.text);
    responsive(slow, 'a slow linear pattern');
    const backref = await t.request('POST', `${H()}/validate`, { token: demo, body: { template: template('(a)\\1'), parameters: { p: 'aa' } } });
    assert.equal(backref.status, 400, backref.text);
    const filter = await t.request('GET', `${H()}/resource_types?name=${encodeURIComponent('(a+)+$')}`, { token: demo });
    assert.equal(filter.status, 200, filter.text);
  });

  it('creates and deletes a stack of 1,000 resources while others are answered', async () => {
    const resources = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`r${i}`, { type: 'OS::Heat::Value', properties: { value: `${i}-${'v'.repeat(300)}` } }]));
    const m = await whileListing(async () => {
      const r = await t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'thousand', template: { heat_template_version: '2021-04-16', resources } } });
      assert.equal(r.status, 201, r.text);
      return settled('thousand');
    });
    assert.equal(m.result.stack_status, 'CREATE_COMPLETE', m.result.stack_status_reason);
    responsive(m, 'creating 1,000 resources');
    const d = await whileListing(async () => {
      await t.request('DELETE', `${H()}/stacks/thousand/${m.result.id}`, { token: demo });
      return settled('thousand');
    });
    assert.equal(d.result.stack_status, 'GONE');
    responsive(d, 'deleting 1,000 resources');
  });

  it('stops reading a template_url at the size limit, and never fetches from the cloud\'s own ports', async () => {
    let sent = 0;
    let closed = false;
    const endless = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/yaml' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const more = () => {
        while (!closed && sent < 512 << 20) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      res.on('close', () => (closed = true));
      more();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    try {
      const port = (endless.address() as { port: number }).port;
      const r = await t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'endless', template_url: `http://127.0.0.1:${port}/t.yaml` } });
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.error.message, /exceeds maximum allowed size/);
      await waitFor('the fetch to stop', async () => (closed ? true : undefined), 60_000);
      assert.ok(sent < 64 << 20, `the controller stopped reading early (${sent >> 20} MiB sent)`);
    } finally {
      endless.close();
    }
    const own = new URL(t.url).port;
    for (const path of ['/orchestration/v1/', '/agent/v1/sessions']) {
      const r = await t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'own', template_url: `http://127.0.0.1:${own}${path}` } });
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.error.message, /belongs to the cloud itself/);
    }
  });
});
