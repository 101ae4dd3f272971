// Which addresses agents report for their hosts and which the controller routes floating IPs to:
// a tcp:// engine's IPv4 host (or --address), and only unicast addresses of other machines.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { routableHostAddress } from './floating-ip-routes.ts';
import { hostAddress } from './agent.ts';

describe('addresses of agent hosts for floating IPs', () => {
  it('takes the host of a tcp:// engine URL, or the given address, and none for a unix socket', () => {
    assert.equal(hostAddress('tcp://172.31.250.2:2375'), '172.31.250.2');
    assert.equal(hostAddress('tcp://docker-host.example:2375'), undefined);
    assert.equal(hostAddress('unix:///var/run/docker.sock'), undefined);
    assert.equal(hostAddress('unix:///var/run/docker.sock', '192.0.2.7'), '192.0.2.7');
  });

  it('routes only to unicast addresses of other machines', () => {
    for (const ok of ['172.31.250.2', '10.0.0.1', '192.0.2.7']) assert.equal(routableHostAddress(ok), true, ok);
    for (const bad of ['127.0.0.1', '127.64.0.5', '0.0.0.0', '169.254.1.1', '224.0.0.1', '255.255.255.255', '300.1.1.1', '1.2.3']) assert.equal(routableHostAddress(bad), false, bad);
  });
});
