// The service catalog as tokens carry it, read once and kept: a version that changes only when the
// catalog does (a local change at once, another controller's within `ttlMs`), and each project's
// view of it (templated URLs filled, endpoint filters applied) built once per version.
import type { CatalogEntry } from './views.ts';
import { catalogFor } from './views.ts';

export interface CatalogSnapshot {
  entries: CatalogEntry[];
  /** Endpoint ids a project is limited to (OS-EP-FILTER); projects not in the map see every endpoint. */
  projectEndpoints?: Map<string, Set<string>>;
}

const MAX_PROJECT_VIEWS = 10_000;

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
  async forProject(projectId: string | undefined): Promise<{ version: number; entries: CatalogEntry[] }> {
    const snapshot = await this.snapshot();
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
