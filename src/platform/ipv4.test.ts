import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intToIp, ipToInt } from './ipv4.ts';

test('dotted quads convert to numbers and back across the whole range', () => {
  assert.equal(ipToInt('0.0.0.0'), 0);
  assert.equal(ipToInt('10.0.0.1'), 0x0a000001);
  assert.equal(ipToInt('255.255.255.255'), 2 ** 32 - 1);
  assert.equal(intToIp(2 ** 32 - 1), '255.255.255.255');
  for (const ip of ['127.77.113.2', '172.31.250.0', '192.168.0.255']) assert.equal(intToIp(ipToInt(ip)!), ip);
});

test('anything but four decimal parts of 0-255 is refused', () => {
  for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4/24', '0x1.2.3.4', '']) {
    assert.equal(ipToInt(bad), undefined, bad);
  }
});
