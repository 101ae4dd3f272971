// Engine endpoints: unix sockets as given, tcp:// only with a client certificate directory (TLS).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { engineEndpointLabel, formatEngineEndpoint, isLocalEngine, parseEngineEndpoint } from './engine-client.ts';
import { loadConfig } from '../config.ts';

it('parses unix and tcp endpoints, and refuses tcp without certificates', () => {
  assert.deepEqual(parseEngineEndpoint('unix:///run/x.sock'), { kind: 'unix', socketPath: '/run/x.sock' });
  assert.deepEqual(parseEngineEndpoint('tcp://10.0.0.5:2376?cert_dir=%2Fetc%2Fcerts'), { kind: 'tcp', host: '10.0.0.5', port: 2376, certDir: '/etc/certs' });
  assert.deepEqual(parseEngineEndpoint('tcp://h.example:2376', '/d'), { kind: 'tcp', host: 'h.example', port: 2376, certDir: '/d' });
  assert.throws(() => parseEngineEndpoint('tcp://10.0.0.5:2375'), /needs TLS/);
  assert.throws(() => parseEngineEndpoint('tcp://10.0.0.5:2376', 'relative'), /absolute/);
  assert.throws(() => parseEngineEndpoint('http://10.0.0.5:2375'), /is not unix/);
  const e = formatEngineEndpoint({ kind: 'tcp', host: '10.0.0.5', port: 2376, certDir: '/a b' });
  assert.equal(e, 'tcp://10.0.0.5:2376?cert_dir=%2Fa%20b');
  assert.deepEqual(parseEngineEndpoint(e), { kind: 'tcp', host: '10.0.0.5', port: 2376, certDir: '/a b' });
  assert.equal(engineEndpointLabel(e), 'tcp://10.0.0.5:2376');
  assert.equal(isLocalEngine('unix:///x'), true);
  assert.equal(isLocalEngine(e), false);
});

it('HAFEN_DOCKER_HOSTS takes tcp:// engines only with a certificate directory that holds the files', () => {
  assert.throws(() => loadConfig({ HAFEN_DOCKER_HOSTS: 'tcp://10.0.0.5:2375' }), /HAFEN_DOCKER_HOSTS: .*needs TLS/);
  assert.throws(() => loadConfig({ HAFEN_DOCKER_HOSTS: 'tcp://10.0.0.5:2376', HAFEN_DOCKER_CERT_DIR: '/nonexistent-hafen-certs' }), /HAFEN_DOCKER_HOSTS: .*ca\.pem is missing/);
  assert.throws(() => loadConfig({ HAFEN_DOCKER_HOSTS: 'tcp://10.0.0.5:2376', HAFEN_DOCKER_CERT_DIR: 'certs' }), /HAFEN_DOCKER_CERT_DIR: must be an absolute path/);
  assert.deepEqual(loadConfig({ HAFEN_DOCKER_HOSTS: 'unix:///run/a.sock' }).dockerHosts, ['unix:///run/a.sock']);
});
