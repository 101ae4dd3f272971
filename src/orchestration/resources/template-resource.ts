// A provider template used as a resource type (a template file, or a type the environment maps to
// one): a nested stack whose parameters are the resource's properties and whose outputs are its
// attributes.
import { TemplateError, type ParameterType } from '../template/model.ts';
import { parseDocument, parseTemplate } from '../template/parse.ts';
import type { StackSpec } from '../engine/model.ts';
import { nestedStackHooks, type PropertySchema, type PropertyType, type ResourceHandle, type ResourceType } from './types.ts';

const propertyTypes: Record<ParameterType, PropertyType> = { string: 'string', number: 'number', boolean: 'boolean', json: 'map', comma_delimited_list: 'list' };

/** Finds a template file in `files` by its exact key or, as heatclient may absolutise it, by its tail. */
export function fileContent(files: Record<string, string>, name: string): string | undefined {
  if (name in files) return files[name];
  const tail = name.replace(/^(file|https?):\/\/[^/]*/, '').replace(/^\.?\//, '');
  return Object.entries(files).find(([k]) => k === tail || k.endsWith(`/${tail}`))?.[1];
}

export function templateResourceType(typeName: string, files: Record<string, string>, at: string): ResourceType {
  const content = fileContent(files, typeName);
  if (content === undefined) throw new TemplateError(`${at}.type: Could not fetch remote template "${typeName}": it is not in the files of the request.`);
  const doc = parseDocument(content, `template ${typeName}`);
  const child = parseTemplate(doc);
  const properties: Record<string, PropertySchema> = Object.fromEntries(
    Object.entries(child.parameters).map(([name, p]) => [name, { type: propertyTypes[p.type], required: p.default === undefined, update_allowed: true, description: p.description ?? '' }]),
  );
  return {
    type: typeName,
    description: child.description || `Provider template ${typeName}`,
    properties,
    attributes: Object.fromEntries(Object.entries(child.outputs).map(([name, o]) => [name, { description: o.description ?? '' }])),
    dynamicAttributes: true,
    ...nestedStackHooks((props, parent) => ({ template: doc, environment: parent.environment, files: parent.files, parameters: props })),
    async attribute(h: ResourceHandle, id, name) {
      if (!id) return null;
      if (name === 'OS::stack_id') return id;
      return (await h.nested.outputs(id))[name] ?? null;
    },
  } satisfies ResourceType;
}
