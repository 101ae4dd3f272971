// HOT parsing, parameters and intrinsic functions (pure logic; the API and engine are still to come).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, parseTemplate, references, resolveParameters, TemplateError, type FunctionContext } from './template.ts';

const ctx = (parameters: Record<string, unknown>): FunctionContext => ({
  parameters,
  resourceId: (name) => `id-of-${name}`,
  attribute: (name, attr, path) => `${name}.${attr}${path.length ? `.${path.join('.')}` : ''}`,
  stack: { id: 'stack-1', name: 's', projectId: 'p' },
});

describe('HOT templates', () => {
  it('parses resources, parameters and outputs, and rejects bad templates with the offending part', () => {
    const t = parseTemplate(`
heat_template_version: 2021-04-16
description: demo
parameters:
  size: {type: number, default: 2, constraints: [{range: {min: 1, max: 5}}]}
  name: {type: string, constraints: [{allowed_pattern: "[a-z]+"}]}
resources:
  a: {type: OS::Heat::None}
  b: {type: OS::Heat::Value, properties: {value: {get_attr: [a, show]}}, depends_on: a}
outputs:
  out: {value: {get_resource: b}}
`);
    assert.equal(t.version, '2021-04-16');
    assert.deepEqual(Object.keys(t.resources), ['a', 'b']);
    assert.deepEqual(t.resources.b!.depends_on, ['a']);
    assert.deepEqual([...references(t.resources.b!.properties)], ['a']);
    assert.throws(() => parseTemplate('heat_template_version: 1999-01-01\n'), /should be one of/);
    assert.throws(() => parseTemplate('heat_template_version: 2021-04-16\nresources: {x: {}}\n'), /Resource x: "type" is a required property/);
    assert.throws(() => parseTemplate('heat_template_version: 2021-04-16\nbogus: 1\n'), /section is invalid: bogus/);
    assert.throws(() => parseTemplate('{ not: [valid'), TemplateError);
    assert.throws(() => parseTemplate(`heat_template_version: 2021-04-16\ndescription: "${'x'.repeat(600_000)}"\n`), /exceeds maximum/);
    assert.deepEqual(resolveParameters(t, { name: 'abc' }), { size: 2, name: 'abc' });
    assert.throws(() => resolveParameters(t, { name: 'abc', size: 9 }), /Parameter 'size' is invalid: 9 is out of range/);
    assert.throws(() => resolveParameters(t, { name: 'ABC' }), /does not match pattern/);
    assert.throws(() => resolveParameters(t, {}), /The Parameter \(name\) was not provided/);
    assert.throws(() => resolveParameters(t, { name: 'a', extra: 1 }), /was not defined in template/);
  });

  it('evaluates the intrinsic functions', () => {
    const c = ctx({ who: 'world', n: 3, list: ['a', 'b'], m: { k: 'v' } });
    assert.equal(evaluate({ get_param: 'who' }, c), 'world');
    assert.equal(evaluate({ get_param: ['m', 'k'] }, c), 'v');
    assert.equal(evaluate({ get_param: 'OS::stack_name' }, c), 's');
    assert.equal(evaluate({ get_resource: 'web' }, c), 'id-of-web');
    assert.equal(evaluate({ get_attr: ['db', 'network_ip'] }, c), 'db.network_ip');
    assert.equal(evaluate({ str_replace: { template: 'hello $who!', params: { $who: { get_param: 'who' } } } }, c), 'hello world!');
    assert.equal(evaluate({ list_join: [',', ['a', 'b'], { get_param: 'list' }] }, c), 'a,b,a,b');
    assert.deepEqual(evaluate({ str_split: [',', 'x,y,z'] }, c), ['x', 'y', 'z']);
    assert.equal(evaluate({ str_split: [',', 'x,y,z', 1] }, c), 'y');
    assert.equal(evaluate({ digest: ['sha256', 'abc'] }, c), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.deepEqual(evaluate({ repeat: { for_each: { '%x%': ['1', '2'] }, template: 'port-%x%' } }, c), ['port-1', 'port-2']);
    assert.deepEqual(evaluate({ map_merge: [{ a: 1 }, { b: 2 }] }, c), { a: 1, b: 2 });
    assert.deepEqual(evaluate({ list_concat: [[1], [2, 3]] }, c), [1, 2, 3]);
    assert.equal(evaluate({ if: [{ equals: [{ get_param: 'n' }, 3] }, 'yes', 'no'] }, c), 'yes');
    assert.equal(evaluate({ and: [true, { not: false }] }, c), true);
    assert.equal(evaluate({ or: [false, { contains: ['a', { get_param: 'list' }] }] }, c), true);
    assert.throws(() => evaluate({ get_param: 'missing' }, c), /The Parameter \(missing\) was not defined/);
    assert.throws(() => evaluate({ a: { b: { get_attr: ['only-one'] } } }, c, 'resources.x.properties'), /resources\.x\.properties\.a\.b\.get_attr: Arguments to "get_attr"/);
  });
});
