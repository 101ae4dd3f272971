// A hafen cloud in a process of its own for bench/identity.ts, so that the load generator measures
// it from outside: prints one JSON line (port, tokens, an application credential) and serves until killed.
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: identity-server.mts <data dir>');
// The production password hash cost (scrypt N=32768), so password issue shows its real price.
const config = loadConfig({ HAFEN_DATA_DIR: dataDir, HAFEN_PORT: '0', HAFEN_LOG_LEVEL: 'info', HAFEN_LOG_FORMAT: 'json', HAFEN_DOCKER_HOSTS: 'none' });
const cloud = await createCloud(config, { logStream: new Writable({ write: (_c, _e, done) => done() }) });
await cloud.app.listen({ host: '127.0.0.1', port: 0 });
const port = (cloud.app.server.address() as { port: number }).port;
const url = `http://127.0.0.1:${port}/identity/v3`;
const { admin, demo } = cloud.identity.credentials;
const issue = async (c: typeof admin) => {
  const r = await fetch(`${url}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: c.username, domain: { id: 'default' }, password: c.password } } }, scope: { project: { name: c.project, domain: { id: 'default' } } } } }),
  });
  if (r.status !== 201) throw new Error(`issue: ${r.status} ${await r.text()}`);
  return { token: r.headers.get('x-subject-token')!, userId: ((await r.json()) as { token: { user: { id: string } } }).token.user.id };
};
const a = await issue(admin);
const d = await issue(demo);
// A revoked token, so that validation runs with revocation events in memory, as a cloud in use does.
const revoked = await issue(demo);
const del = await fetch(`${url}/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': a.token, 'x-subject-token': revoked.token } });
if (del.status !== 204) throw new Error(`revoke: ${del.status} ${await del.text()}`);
const cred = await fetch(`${url}/users/${d.userId}/application_credentials`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-auth-token': d.token },
  body: JSON.stringify({ application_credential: { name: 'bench' } }),
});
const credBody = (await cred.json()) as { application_credential: { id: string; secret: string } };
process.stdout.write(`${JSON.stringify({ port, admin: a, demo: d, demoCredentials: demo, appCredential: credBody.application_credential })}\n`);
process.on('SIGTERM', () => {
  void cloud.close().then(() => process.exit(0));
});
