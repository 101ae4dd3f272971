// The one shape every template format (HOT, CFN, Compose after translation) is parsed into, and the
// validation error every template problem raises, naming the path of the offending element.
import { BadRequestError } from '../../platform/errors.ts';

export type TemplateFormat = 'hot' | 'cfn';

export type ParameterType = 'string' | 'number' | 'boolean' | 'json' | 'comma_delimited_list';

export interface ParameterConstraint {
  range?: { min?: number; max?: number };
  length?: { min?: number; max?: number };
  modulo?: { step: number; offset: number };
  allowed_values?: unknown[];
  allowed_pattern?: string;
  custom_constraint?: string;
  description?: string;
}

export interface ParameterSchema {
  type: ParameterType;
  default?: unknown;
  description?: string;
  label?: string;
  hidden?: boolean;
  immutable?: boolean;
  constraints: ParameterConstraint[];
}

export interface ResourceDefinition {
  type: string;
  properties: Record<string, unknown>;
  depends_on: string[];
  metadata: Record<string, unknown>;
  condition?: unknown;
  deletion_policy?: string;
  update_policy?: Record<string, unknown>;
}

export interface OutputDefinition {
  value: unknown;
  description?: string;
  condition?: unknown;
}

export interface Template {
  format: TemplateFormat;
  /** `2021-04-16` for HOT, `2010-09-09` for CFN. */
  version: string;
  description: string;
  parameters: Record<string, ParameterSchema>;
  parameterGroups: { label?: string; description?: string; parameters: string[] }[];
  conditions: Record<string, unknown>;
  mappings: Record<string, unknown>;
  resources: Record<string, ResourceDefinition>;
  outputs: Record<string, OutputDefinition>;
  /** The document as given, for `template show`. */
  raw: Record<string, unknown>;
}

export class TemplateError extends BadRequestError {
  override readonly name: string = 'StackValidationFailed';
}

/** Heat's "nothing further" resource types that the engine treats as nested stacks. */
export const MAX_NESTED_DEPTH = 5;
export const MAX_TEMPLATE_BYTES = 512 * 1024;
export const MAX_RESOURCES_PER_STACK = 1000;
