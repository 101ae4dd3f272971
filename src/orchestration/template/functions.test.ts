// Heat's intrinsic functions on small values: what each returns, the version a function needs, the
// branch `if` takes, conditions naming conditions, and the bounds that keep a small template small.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, evaluateConditions, MAX_FUNCTION_VALUE, MAX_REPEAT_ITEMS, references, type FunctionContext } from './functions.ts';
import type { Template } from './model.ts';

const context = (version = '2021-04-16', o: Partial<FunctionContext> = {}): FunctionContext => ({
  template: { format: version === '2010-09-09' ? 'cfn' : 'hot', version, mappings: { Sizes: { small: { ram: 512 } } } },
  parameters: { name: 'web', ports: [80, 443], deep: { a: [{ b: 'x' }] } },
  stack: { id: 'stack-id', name: 'st', projectId: 'p1', region: 'RegionOne' },
  files: { 'https://example.test/scripts/boot.sh': '#!/bin/sh\necho hi\n' },
  conditions: { prod: true, dev: false },
  resourceId: (name) => `id-of-${name}`,
  attribute: (name, attr, path) => `${name}.${attr}${path.length ? `.${path.join('.')}` : ''}`,
  ...o,
});
const ev = (v: unknown, c = context()) => evaluate(v, c);

describe('template functions', () => {
  it('reads parameters (with a path), pseudo parameters, resources, attributes and files', () => {
    assert.equal(ev({ get_param: 'name' }), 'web');
    assert.equal(ev({ get_param: ['deep', 'a', 0, 'b'] }), 'x');
    assert.equal(ev({ get_param: 'OS::stack_name' }), 'st');
    assert.equal(ev({ get_resource: 'server' }), 'id-of-server');
    assert.equal(ev({ get_attr: ['server', 'networks', 'private', 0] }), 'server.networks.private.0');
    assert.equal(ev({ get_file: 'boot.sh' }), '#!/bin/sh\necho hi\n');
    assert.throws(() => ev({ get_param: 'missing' }), /The Parameter \(missing\) was not defined in template/);
    assert.throws(() => ev({ get_file: 'nope.sh' }), /No content found in the "files" section/);
  });

  it('replaces, joins, splits and selects strings as Heat does', () => {
    assert.equal(ev({ str_replace: { template: 'http://$host:$port/', params: { $host: { get_param: 'name' }, $port: 8080 } } }), 'http://web:8080/');
    // The longest key first: $hostname is not eaten by $host.
    assert.equal(ev({ str_replace: { template: '$hostname/$host', params: { $host: 'a', $hostname: 'b' } } }), 'b/a');
    assert.throws(() => ev({ str_replace_strict: { template: 'x', params: { y: 'z' } } }), /were not found in the template: 'y'/);
    assert.equal(ev({ list_join: [',', ['a', 'b'], ['c']] }), 'a,b,c');
    assert.equal(ev({ 'Fn::Join': ['-', ['a', { get_param: 'name' }]] }, context('2013-05-23')), 'a-web');
    assert.deepEqual(ev({ str_split: [',', 'a,b,c'] }), ['a', 'b', 'c']);
    assert.equal(ev({ str_split: [',', 'a,b,c', 1] }), 'b');
    assert.equal(ev({ 'Fn::Select': ['1', ['x', 'y']] }, context('2013-05-23')), 'y');
    assert.equal(ev({ digest: ['sha256', 'abc'] }), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('repeats over lists, merges and replaces maps, and concatenates and filters lists', () => {
    assert.deepEqual(ev({ repeat: { for_each: { '%port%': { get_param: 'ports' } }, template: { port: '%port%', protocol: 'tcp' } } }), [
      { port: '80', protocol: 'tcp' },
      { port: '443', protocol: 'tcp' },
    ]);
    assert.deepEqual(ev({ repeat: { for_each: { x: ['1', '2'], y: ['a', 'b'] }, template: 'x-y', permutations: false } }), ['1-a', '2-b']);
    assert.deepEqual(ev({ map_merge: [{ a: 1, b: 1 }, { b: 2 }] }), { a: 1, b: 2 });
    assert.deepEqual(ev({ map_replace: [{ k1: 'v1', k2: 'v2' }, { keys: { k1: 'K1' }, values: { v2: 'V2' } }] }), { K1: 'v1', k2: 'V2' });
    assert.deepEqual(ev({ list_concat_unique: [[1, 2], [2, 3]] }), [1, 2, 3]);
    assert.deepEqual(ev({ filter: [[null, ''], ['a', null, '', 'b']] }), ['a', 'b']);
    assert.equal(ev({ make_url: { scheme: 'https', host: 'fe80::1', port: 8443, path: 'v1', query: { a: 'b c' } } }), 'https://[fe80::1]:8443/v1?a=b+c');
    assert.equal(ev({ contains: ['b', ['a', 'b']] }), true);
  });

  it('knows which version has which function', () => {
    // Fn:: and get_ keys are always meant as functions: one the version lacks is an error.
    assert.throws(() => ev({ 'Fn::Join': ['-', ['a']] }), /The function "Fn::Join" is not supported in template version heat_template_version 2021-04-16/);
    assert.deepEqual(ev({ repeat: { for_each: { x: ['1'] }, template: 'x' } }, context('2013-05-23')), { repeat: { for_each: { x: ['1'] }, template: 'x' } });
    // `if` came with 2016-10-14: before it, an `if` key is a plain map key.
    assert.deepEqual(ev({ if: ['prod', 1, 2] }, context('2016-04-08')), { if: ['prod', 1, 2] });
    // A key that only looks like an unknown function is a plain map key.
    assert.deepEqual(ev({ not_a_function: { get_param: 'name' } }), { not_a_function: 'web' });
  });

  it('evaluates only the branch `if` takes, and conditions that name other conditions', () => {
    assert.equal(ev({ if: ['prod', 'big', { get_param: 'missing' }] }), 'big');
    assert.equal(ev({ if: [{ not: 'prod' }, 'small', 'big'] }), 'big');
    assert.equal(ev({ if: [{ or: ['dev', { equals: [1, 1] }] }, 'yes', 'no'] }), 'yes');
    assert.throws(() => ev({ if: [{ not: 'unknown' }, 1, 2] }), /must be a condition/);
    const template = { format: 'hot', version: '2021-04-16', mappings: {}, conditions: { isProd: { equals: [{ get_param: 'env' }, 'prod'] }, notProd: { not: 'isProd' }, both: { and: ['isProd', 'notProd'] } } } as unknown as Template;
    const { conditions: _c, ...base } = context();
    assert.deepEqual(evaluateConditions(template, { ...base, parameters: { env: 'prod' } }), { isProd: true, notProd: false, both: false });
    const loop = { ...template, conditions: { a: { not: 'b' }, b: { not: 'a' } } } as unknown as Template;
    assert.throws(() => evaluateConditions(loop, base), /Circular definition of condition/);
  });

  it('refuses values past the bounds before making them', () => {
    const big = 'x'.repeat(1000);
    assert.throws(() => ev({ str_replace: { template: 'y'.repeat(2000), params: { y: big } } }), new RegExp(`more than ${MAX_FUNCTION_VALUE} characters`));
    const many = Array.from({ length: 101 }, (_, i) => String(i));
    assert.throws(() => ev({ repeat: { for_each: { a: many, b: many }, template: 'a' } }), new RegExp(`more than ${MAX_REPEAT_ITEMS}`));
  });

  it('finds the resources a value refers to, for the dependency graph', () => {
    const refs = references({ a: { get_resource: 'net' }, b: [{ get_attr: ['server', 'first_address'] }], c: { Ref: 'param_not_resource' }, d: { Ref: 'port' } }, new Set(['net', 'server', 'port']));
    assert.deepEqual([...refs].sort(), ['net', 'port', 'server']);
  });
});
