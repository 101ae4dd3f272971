// RemoteDriver and its session without HTTP: calls queue until polled, results are schema-checked,
// errors keep their class, a lost agent fails open calls and its cut-off spawns are destroyed later.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ConflictError } from '../../platform/errors.ts';
import type { ServerSpec } from '../driver.ts';
import { AgentSession, AgentUnavailableError, completeCall, RemoteDriver, streamCall } from './driver.ts';

const caps = { pause: true, snapshot: true, liveResize: true, consoleLog: true, interfaceHotplug: true };
const spec: ServerSpec = {
  serverId: 's-1', imageId: 'img', command: null, memoryMiB: 64, vcpus: 1, pidsLimit: 100, cpuset: null, readOnlyRoot: false,
  hostname: 's', env: [], network: null, configDrive: {}, authorizedKeys: null,
};
const connected = (d: RemoteDriver) => {
  const s = new AgentSession('h1', 'u1');
  d.connect(s, caps);
  return s;
};
const alive = () => false;

describe('remote driver', () => {
  it('fails at once when no agent is connected, as a conflict', async () => {
    const d = new RemoteDriver('h1', caps);
    await assert.rejects(d.state('s-1'), (err: Error) => err instanceof AgentUnavailableError && err instanceof ConflictError && /not connected/.test(err.message));
  });

  it('hands calls to the polling agent and settles them with its checked results', async () => {
    const d = new RemoteDriver('h1', caps);
    const s = connected(d);
    const polled = s.take(5000, alive);
    const state = d.state('s-1');
    const [call] = await polled;
    assert.equal(call!.method, 'state');
    assert.deepEqual(call!.args, { serverId: 's-1' });
    assert.ok(completeCall(s, call!.id, { ok: true, value: { power: 'running', ip: null, mac: null, exitCode: null } }));
    assert.equal((await state).power, 'running');
    // A result that does not match the method's schema is refused, not passed on.
    const log = d.consoleLog('s-1', 10);
    const [c2] = await s.take(0, alive);
    completeCall(s, c2!.id, { ok: true, value: 42 });
    await assert.rejects(log, /result of consoleLog/);
    assert.equal(completeCall(s, 'no-such-call', { ok: true, value: null }), false);
  });

  it('keeps the class of the errors the service tells apart', async () => {
    const d = new RemoteDriver('h1', caps);
    const s = connected(d);
    const attach = d.attachInterface('s-1', { name: 'n', subnet: '10.0.0.0/24', gateway: '10.0.0.1', internal: false, ip: null, mac: null });
    const [call] = await s.take(0, alive);
    completeCall(s, call!.id, { ok: false, error: { name: 'ConflictError', message: 'one interface per network' } });
    await assert.rejects(attach, (err: Error) => err instanceof ConflictError && err.message === 'one interface per network');
  });

  it('answers a waiting poll as soon as a call comes; a newer poll answers the older one empty', async () => {
    const d = new RemoteDriver('h1', caps);
    const s = connected(d);
    const first = s.take(5000, alive);
    const second = s.take(5000, alive);
    assert.deepEqual(await first, []);
    void d.destroy('s-1').catch(() => undefined);
    assert.equal((await second)[0]!.method, 'destroy');
  });

  it('fails open calls when the agent is lost and destroys a spawn it was cut off in once an agent is back', async () => {
    const d = new RemoteDriver('h1', caps);
    const s = connected(d);
    const delivered = d.spawn(spec);
    await s.take(0, alive);
    const queued = d.spawn({ ...spec, serverId: 's-2' });
    d.lose('stopped answering');
    await assert.rejects(delivered, (err: Error) => err instanceof AgentUnavailableError && /outcome of spawn is unknown/.test(err.message));
    await assert.rejects(queued, AgentUnavailableError);
    await assert.rejects(d.listServers(), /not connected/);
    const again = connected(d);
    const calls = await again.take(0, alive);
    // Only the spawn that had reached the agent is cleaned up.
    assert.deepEqual(calls.map((c) => [c.method, c.args]), [['destroy', { serverId: 's-1' }]]);
    assert.ok(completeCall(again, calls[0]!.id, { ok: true, value: null }));
  });

  it('takes a snapshot as the stream the agent sends back', async () => {
    const d = new RemoteDriver('h1', caps);
    const s = connected(d);
    const snap = d.snapshot('s-1', 'snap');
    const [call] = await s.take(0, alive);
    assert.ok(streamCall(s, call!.id, Readable.from([Buffer.from('archive')])));
    const chunks: Buffer[] = [];
    for await (const c of await snap) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'archive');
  });
});
