// The attributes of Magnum's objects as the API reads them: each template and cluster attribute's
// wire type and bounds, checked the way WSME checks them (one message per attribute).
import { randomBytes } from 'node:crypto';
import { BadRequestError } from '../platform/errors.ts';
import { invalidInput } from './errors.ts';

type Kind =
  | { type: 'string'; min?: number; max?: number; pattern?: RegExp }
  | { type: 'int'; min?: number; max?: number }
  | { type: 'bool' }
  | { type: 'labels' }
  | { type: 'enum'; values: string[] }
  | { type: 'uuid' };

export const COES = ['dcos', 'kubernetes', 'mesos', 'swarm', 'swarm-mode'];
/** The COEs hafen builds clusters of; the others are stored as Magnum stores them. */
export const BUILDABLE_COES = ['swarm-mode'];
export const SERVER_TYPES = ['vm', 'bm'];

const s = (max = 255, min = 1): Kind => ({ type: 'string', min, max });

export const TEMPLATE_ATTRIBUTES: Record<string, Kind> = {
  uuid: { type: 'uuid' },
  name: s(),
  coe: { type: 'enum', values: COES },
  image_id: s(),
  flavor_id: s(),
  master_flavor_id: s(),
  dns_nameserver: { type: 'string', min: 1, max: 255, pattern: /^(\d{1,3}\.){3}\d{1,3}(,(\d{1,3}\.){3}\d{1,3})*$/ },
  keypair_id: s(),
  external_network_id: s(),
  fixed_network: s(),
  fixed_subnet: s(),
  network_driver: s(),
  apiserver_port: { type: 'int', min: 1024, max: 65535 },
  docker_volume_size: { type: 'int', min: 1 },
  cluster_distro: s(),
  http_proxy: s(),
  https_proxy: s(),
  no_proxy: s(),
  volume_driver: s(),
  registry_enabled: { type: 'bool' },
  labels: { type: 'labels' },
  tls_disabled: { type: 'bool' },
  public: { type: 'bool' },
  server_type: { type: 'enum', values: SERVER_TYPES },
  insecure_registry: s(),
  docker_storage_driver: s(),
  master_lb_enabled: { type: 'bool' },
  floating_ip_enabled: { type: 'bool' },
  hidden: { type: 'bool' },
  tags: s(255, 0),
  driver: s(),
};

/** Mandatory template attributes and those Magnum forbids removing by PATCH. */
export const TEMPLATE_NON_REMOVABLE = ['/coe', '/image_id', '/network_driver', '/external_network_id', '/tls_disabled', '/public', '/server_type', '/registry_enabled', '/cluster_distro', '/hidden'];

export const CLUSTER_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;

export const CLUSTER_ATTRIBUTES: Record<string, Kind> = {
  uuid: { type: 'uuid' },
  name: { type: 'string', min: 1, max: 242, pattern: CLUSTER_NAME },
  cluster_template_id: s(255, 1),
  keypair: s(),
  node_count: { type: 'int', min: 0 },
  master_count: { type: 'int', min: 1 },
  docker_volume_size: { type: 'int', min: 1 },
  labels: { type: 'labels' },
  master_flavor_id: s(),
  flavor_id: s(),
  create_timeout: { type: 'int', min: 0 },
  discovery_url: s(65535, 0),
  fixed_network: s(),
  fixed_subnet: s(),
  floating_ip_enabled: { type: 'bool' },
  merge_labels: { type: 'bool' },
  master_lb_enabled: { type: 'bool' },
};

/** Attributes of the answer a client may send back (read-only ones are ignored, as WSME ignores them). */
export const CLUSTER_READ_ONLY = ['links', 'stack_id', 'cluster_id', 'status', 'status_reason', 'health_status', 'health_status_reason', 'api_address', 'coe_version', 'container_version', 'project_id', 'user_id', 'node_addresses', 'master_addresses', 'faults', 'created_at', 'updated_at', 'labels_overridden', 'labels_added', 'labels_skipped'];
export const TEMPLATE_READ_ONLY = ['links', 'project_id', 'user_id', 'created_at', 'updated_at'];

const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

export function isUuid(v: string): boolean {
  return UUID.test(v);
}

/** WSME's boolean: true/false and their common string spellings. */
export function toBool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  const t = String(v).toLowerCase();
  if (['true', '1', 'yes', 'y', 'on', 't'].includes(t)) return true;
  if (['false', '0', 'no', 'n', 'off', 'f'].includes(t)) return false;
  throw invalidInput(field, v, `Wrong type. Expected 'bool', got '${typeof v}'`);
}

/** Checks and normalises one attribute's value; null stays null (an unset optional attribute). */
export function checkAttribute(kind: Kind, field: string, v: unknown): unknown {
  if (v === null) return null;
  switch (kind.type) {
    case 'string': {
      if (typeof v !== 'string') throw invalidInput(field, v, `Wrong type. Expected 'str', got '${typeof v}'`);
      if (kind.min !== undefined && v.length < kind.min) throw invalidInput(field, v, `Value should have a minimum character requirement of ${kind.min}`);
      if (kind.max !== undefined && v.length > kind.max) throw invalidInput(field, v, `Value should have a maximum character requirement of ${kind.max}`);
      if (kind.pattern && !kind.pattern.test(v)) throw invalidInput(field, v, `Value should match the pattern ${kind.pattern.source}`);
      return v;
    }
    case 'int': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n)) throw invalidInput(field, v, `Wrong type. Expected 'int', got '${typeof v}'`);
      if (kind.min !== undefined && n < kind.min) throw invalidInput(field, v, `Value should be greater or equal to ${kind.min}`);
      if (kind.max !== undefined && n > kind.max) throw invalidInput(field, v, `Value should be lower or equal to ${kind.max}`);
      return n;
    }
    case 'bool':
      return toBool(v, field);
    case 'labels': {
      if (typeof v !== 'object' || Array.isArray(v)) throw invalidInput(field, v, "Wrong type. Expected 'dict'");
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length > 256) throw invalidInput(field, '…', 'At most 256 labels.');
      const out: Record<string, string | number | boolean> = {};
      for (const [k, x] of entries) {
        if (k.length > 255) throw invalidInput(field, k, 'A label key is at most 255 characters.');
        if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw invalidInput(field, v, `Wrong type for label ${k}: a string, number or boolean`);
        if (typeof x === 'string' && x.length > 65535) throw invalidInput(field, k, 'A label value is at most 65535 characters.');
        out[k] = x;
      }
      return out;
    }
    case 'enum':
      if (typeof v !== 'string' || !kind.values.includes(v)) throw invalidInput(field, v, `Value should be one of: ${kind.values.join(', ')}`);
      return v;
    case 'uuid':
      if (typeof v !== 'string' || !UUID.test(v)) throw invalidInput(field, v, `Expected a uuid but received ${String(v)}.`);
      return v.toLowerCase();
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/**
 * Reads a request body into attributes: an unknown attribute is 400 "Unknown attribute", read-only
 * attributes are skipped, the rest checked by their kind.
 */
export function readAttributes(body: unknown, table: Record<string, Kind>, readOnly: string[], argument: string): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError(`Invalid input for field/attribute ${argument}. The body must be a JSON object.`);
  const out: Record<string, unknown> = {};
  const unknown = Object.keys(body).filter((k) => !(k in table) && !readOnly.includes(k));
  if (unknown.length) throw new BadRequestError(`Unknown attribute for argument ${argument}: ${unknown.join(', ')}`);
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (readOnly.includes(k)) continue;
    out[k] = checkAttribute(table[k]!, k, v);
  }
  return out;
}

const ADJECTIVES = ['amber', 'brisk', 'calm', 'deft', 'eager', 'fair', 'grand', 'hardy', 'keen', 'lucid', 'merry', 'noble', 'plain', 'quick', 'sound', 'tidy', 'vivid', 'wise'];
const GREEK = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi', 'omicron', 'pi', 'rho', 'sigma', 'tau', 'upsilon', 'phi', 'chi', 'psi', 'omega'];

/** A human-readable name like Magnum's: `<greek>-<number>-<word>-<suffix>`. */
export function generatedName(suffix: 'cluster' | 'template' | 'bay' | 'baymodel'): string {
  const r = randomBytes(3);
  return `${GREEK[r[0]! % GREEK.length]}-${r[1]! % 100}-${ADJECTIVES[r[2]! % ADJECTIVES.length]}-${suffix}`;
}

/** WSME's answer for a mandatory attribute that is missing or null. */
export function invalidInputMissing(field: string): BadRequestError {
  return invalidInput(field, null, 'Mandatory field missing.');
}
