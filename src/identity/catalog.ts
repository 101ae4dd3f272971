// The service catalog as tokens carry it, read once and kept: a version that changes only when the
// catalog does (a local change at once, another controller's within `ttlMs`), and each project's
// view of it (templated URLs filled, endpoint filters applied) built once per version.
import type { Kysely } from 'kysely';
import type { CatalogEntry } from './views.ts';
import { catalogFor } from './views.ts';

export interface CatalogSnapshot {
  entries: CatalogEntry[];
  /** Endpoint ids a project is limited to (OS-EP-FILTER); projects not in the map see every endpoint. */
  projectEndpoints?: Map<string, Set<string>>;
}

const MAX_PROJECT_VIEWS = 10_000;

/** A project's view of the catalog and the catalog version it was made from. */
export interface ProjectCatalog {
  version: number;
  entries: CatalogEntry[];
}

export class CatalogCache {
  private version = 0;
  private generation = 0;
  private current: { at: number; snapshot: CatalogSnapshot } | undefined;
  private lastJson = '';
  private loading: Promise<void> | undefined;
  private readonly views = new Map<string, CatalogEntry[]>();

  constructor(private readonly load: () => Promise<CatalogSnapshot>, private readonly ttlMs = 5000) {}

  /** A local change: the next read loads the catalog again (a load under way is not used). */
  invalidate(): void {
    this.generation++;
    this.current = undefined;
    this.loading = undefined;
  }

  private async refresh(generation: number): Promise<void> {
    const snapshot = await this.load();
    if (generation !== this.generation) return; // changed meanwhile: this read may be stale
    const json = JSON.stringify([snapshot.entries, [...(snapshot.projectEndpoints ?? new Map()).entries()].map(([k, v]) => [k, [...v].sort()])]);
    if (json !== this.lastJson) {
      this.version++;
      this.views.clear();
      this.lastJson = json;
    }
    this.current = { at: Date.now(), snapshot };
  }

  private async snapshot(): Promise<CatalogSnapshot> {
    for (;;) {
      const current = this.current;
      if (current && Date.now() - current.at <= this.ttlMs) return current.snapshot;
      // One load at a time, whoever asks meanwhile waits for it; a change during the load starts another.
      if (!this.loading) {
        const loading = this.refresh(this.generation).finally(() => {
          if (this.loading === loading) this.loading = undefined;
        });
        this.loading = loading;
      }
      await this.loading;
    }
  }

  /** The catalog as a token of `projectId` (or of no project) sees it, and the version it comes from. */
  async forProject(projectId: string | undefined): Promise<ProjectCatalog> {
    return this.forProjectNow(projectId) ?? this.viewOf(await this.snapshot(), projectId);
  }

  /** As forProject, at once, when the catalog read last is still current; undefined when it must be read. */
  forProjectNow(projectId: string | undefined): ProjectCatalog | undefined {
    const current = this.current;
    if (!current || Date.now() - current.at > this.ttlMs) return undefined;
    return this.viewOf(current.snapshot, projectId);
  }

  private viewOf(snapshot: CatalogSnapshot, projectId: string | undefined): ProjectCatalog {
    const key = projectId ?? '';
    let entries = this.views.get(key);
    if (!entries) {
      const allowed = projectId ? snapshot.projectEndpoints?.get(projectId) : undefined;
      const filtered = allowed
        ? snapshot.entries.map((c) => ({ ...c, endpoints: c.endpoints.filter((e) => allowed.has(e.id)) })).filter((c) => c.endpoints.length > 0)
        : snapshot.entries;
      entries = catalogFor(filtered, projectId);
      if (this.views.size >= MAX_PROJECT_VIEWS) this.views.clear();
      this.views.set(key, entries);
    }
    return { version: this.version, entries };
  }
}

/** An endpoint group's filters: an endpoint belongs to the group when it has every value given. */
export interface EndpointGroupFilters {
  interface?: string;
  service_id?: string;
  region_id?: string;
}

export function endpointInGroup(e: { interface: string; service_id: string; region_id: string | null }, f: EndpointGroupFilters): boolean {
  return (
    (f.interface === undefined || f.interface === e.interface) &&
    (f.service_id === undefined || f.service_id === e.service_id) &&
    (f.region_id === undefined || f.region_id === e.region_id)
  );
}

/**
 * OS-EP-FILTER's part of a snapshot: each project with endpoints associated, directly or through
 * endpoint groups, mapped to those endpoints' ids. Projects with none are left out: they see the
 * whole catalog (Keystone's return_all_endpoints_if_no_filter).
 */
export async function loadProjectEndpoints(
  db: Kysely<any>,
  endpoints: { id: string; interface: string; service_id: string; region_id: string | null }[],
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const add = (projectId: string, endpointId: string) => {
    let set = out.get(projectId);
    if (!set) out.set(projectId, (set = new Set()));
    set.add(endpointId);
  };
  const direct = (await db.selectFrom('identity_project_endpoints').select(['project_id', 'endpoint_id']).execute()) as { project_id: string; endpoint_id: string }[];
  for (const r of direct) add(r.project_id, r.endpoint_id);
  const links = (await db
    .selectFrom('identity_project_endpoint_groups as l')
    .innerJoin('identity_endpoint_groups as g', 'g.id', 'l.endpoint_group_id')
    .select(['l.project_id as project_id', 'g.filters as filters'])
    .execute()) as { project_id: string; filters: string }[];
  for (const l of links) {
    const filters = JSON.parse(l.filters) as EndpointGroupFilters;
    for (const e of endpoints) if (endpointInGroup(e, filters)) add(l.project_id, e.id);
  }
  return out;
}
