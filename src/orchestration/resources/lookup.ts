// Name-or-id look-ups the OpenStack resource types share (Heat's client plugins): images, flavors,
// networks, subnets, ports, security groups and routers, as the stack owner sees them.
import type { RequestContext } from '../../platform/auth/context.ts';
import { ConflictError, NotFoundError, isNotFound } from '../../platform/errors.ts';
import type { Clients } from '../clients.ts';

type NeutronKind = 'network' | 'subnet' | 'port' | 'security_group' | 'router' | 'floatingip';

const LABEL: Record<NeutronKind, string> = {
  network: 'network',
  subnet: 'subnet',
  port: 'port',
  security_group: 'security_group',
  router: 'router',
  floatingip: 'floatingip',
};

/** The id of a Neutron resource given by id or by name; a name that matches several is refused. */
export async function neutronId(clients: Clients, ctx: RequestContext, kind: NeutronKind, ref: string): Promise<string> {
  try {
    return (await clients.network.find(ctx, kind, ref)).id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const docs = kind === 'security_group' ? await clients.network.listSecurityGroups(ctx) : await clients.network.list(ctx, kind);
  const named = docs.filter((d) => d.name === ref);
  if (named.length > 1) throw new ConflictError(`Multiple ${LABEL[kind]} matches found for name '${ref}', use an ID to be more specific.`);
  if (named.length === 0) throw new NotFoundError(`Unable to find ${LABEL[kind]} with name or id '${ref}'`);
  return named[0]!.id;
}

/** The id of an image given by id or by (unique) name. */
export async function imageId(clients: Clients, ctx: RequestContext, ref: string): Promise<string> {
  try {
    return (await clients.image.get(ctx, ref)).id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const found = await clients.image.list(ctx, { name: ref });
  if (found.length > 1) throw new ConflictError(`Multiple images matches found for name '${ref}', use an ID to be more specific.`);
  if (found.length === 0) throw new NotFoundError(`The Image (${ref}) could not be found.`);
  return found[0]!.id;
}

/** The id of a flavor given by id or by name, among the flavors the caller may use. */
export async function flavorId(clients: Clients, ctx: RequestContext, ref: string): Promise<string> {
  try {
    return (await clients.compute.flavor(ctx, ref)).id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const named = (await clients.compute.flavors(ctx)).filter((f) => f.name === ref);
  if (named.length > 1) throw new ConflictError(`Multiple flavors matches found for name '${ref}', use an ID to be more specific.`);
  if (named.length === 0) throw new NotFoundError(`The Flavor ID (${ref}) could not be found.`);
  return named[0]!.id;
}

/** A delete that may be repeated: gone already counts as done. */
export async function gone(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Deletes of things still used by a sibling being deleted at the same time (a network whose port
 * goes with a server, a router whose interface is being removed) answer 409 for a moment: the
 * engine only orders explicit dependencies, so such deletes are retried until `ms` pass.
 */
export async function deleteRetryingConflict(h: { data: Record<string, unknown> }, fn: () => Promise<unknown>, ms = 60_000): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    if (isNotFound(err)) return true;
    if (!(err instanceof ConflictError)) throw err;
    const deadline = (h.data.deleteDeadline as number | undefined) ?? Date.now() + ms;
    h.data.deleteDeadline = deadline;
    if (Date.now() > deadline) throw err;
    return false;
  }
}

/** Drops undefined and null values (properties not given) from a request body. */
export function compact(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== null));
}

type Definition = { type?: string; Type?: string; properties?: Record<string, unknown>; Properties?: Record<string, unknown> };

/** The resource definitions of the handle's template, by name (HOT or CFN spelling). */
export function definitions(h: { spec: { template: Record<string, unknown> } }): Record<string, { type: string; properties: Record<string, unknown> }> {
  const raw = (h.spec.template.resources ?? h.spec.template.Resources ?? {}) as Record<string, Definition>;
  return Object.fromEntries(Object.entries(raw).map(([k, d]) => [k, { type: String(d?.type ?? d?.Type ?? ''), properties: (d?.properties ?? d?.Properties ?? {}) as Record<string, unknown> }]));
}

/**
 * Heat's implicit dependency of ports and servers on the subnets of their network: the engine
 * orders only explicit references, so when a subnet of the same stack names the same network (the
 * same template expression) and the network has no subnet yet, this waits for it (up to `ms`).
 */
export async function awaitStackSubnet(h: { clients: Clients; ctx: RequestContext; signal: AbortSignal; spec: { template: Record<string, unknown> } }, networkId: string, networkExpr: unknown, ms = 60_000): Promise<void> {
  if (networkExpr === undefined) return;
  const key = JSON.stringify(networkExpr);
  const pending = Object.values(definitions(h)).some((d) => d.type === 'OS::Neutron::Subnet' && [d.properties.network, d.properties.network_id].some((v) => v !== undefined && JSON.stringify(v) === key));
  if (!pending) return;
  const deadline = Date.now() + ms;
  while (((await h.clients.network.find(h.ctx, 'network', networkId)).subnets as string[]).length === 0) {
    if (h.signal.aborted || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
