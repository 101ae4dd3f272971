// Service images inside a cluster: no registry can be reached, so when a service or container names
// an image, the front loads the project's image of that name (from the image service, as the
// project sees it) into every ready node that lacks it, tagged with the name asked for.
import type { RequestContext } from '../platform/auth/context.ts';
import { followEngineStream } from '../host/engine-client.ts';
import type { ClusterClients, ImageSummary } from './clients.ts';
import type { ClusterTls, NodeRuntime } from './nodes.ts';
import type { ClusterRow } from './store.ts';

/** `web` -> `web:latest`; a registry host and `library/` are dropped (nothing is pulled from one). */
export function normaliseRef(ref: string): string {
  let r = ref.replace(/@sha256:[0-9a-f]{64}$/, '').replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
  const slash = r.lastIndexOf('/');
  if (!r.slice(slash + 1).includes(':')) r = `${r}:latest`;
  return r;
}

/** The project's image a reference means: its name (with or without the tag), else the tags its archive carried. */
export function matchImage(images: ImageSummary[], ref: string): ImageSummary | undefined {
  const wanted = normaliseRef(ref);
  const [repo, tag] = [wanted.slice(0, wanted.lastIndexOf(':')), wanted.slice(wanted.lastIndexOf(':') + 1)];
  const usable = images.filter((i) => i.status === 'active' && i.containerFormat === 'docker');
  const tags = (i: ImageSummary) => {
    try {
      return (JSON.parse(i.properties.docker_repo_tags ?? '[]') as string[]).map(normaliseRef);
    } catch {
      return [];
    }
  };
  return (
    usable.find((i) => i.name === wanted || i.name === ref) ??
    (tag === 'latest' ? usable.find((i) => i.name === repo) : undefined) ??
    usable.find((i) => tags(i).includes(wanted))
  );
}

/** A reader of the cluster's project, for the reads the cloud does on the cluster's behalf (its images). */
export function projectReader(cluster: ClusterRow): RequestContext {
  const now = new Date();
  return {
    userId: cluster.user_id,
    userName: 'magnum',
    userDomainId: 'default',
    userDomainName: 'Default',
    scope: { kind: 'project', projectId: cluster.project_id, projectName: '', projectDomainId: 'default', projectDomainName: 'Default' },
    roles: ['reader'],
    auditId: `magnum-${cluster.uuid}`,
    expiresAt: new Date(now.getTime() + 3600_000),
    issuedAt: now,
    methods: ['service'],
    token: '',
  };
}

export class ClusterImages {
  /** Loads under way, per cluster and reference, so that concurrent creates load once. */
  private readonly loading = new Map<string, Promise<boolean>>();

  constructor(
    private readonly clients: ClusterClients,
    private readonly nodes: NodeRuntime,
    private readonly log: (msg: string) => void,
  ) {}

  ensure(cluster: ClusterRow, ref: string): Promise<boolean> {
    const key = `${cluster.uuid} ${normaliseRef(ref)}`;
    let p = this.loading.get(key);
    if (!p) {
      p = this.load(cluster, normaliseRef(ref)).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  private async load(cluster: ClusterRow, ref: string): Promise<boolean> {
    const tls = await this.nodes.tls(cluster);
    const ready = (await this.nodes.readyNodes(cluster.uuid)).filter((n) => n.infra_address);
    const missing: string[] = [];
    await Promise.all(
      ready.map(async (n) => {
        const has = await this.nodes.engine(tls, n.infra_address!).getImage(ref).inspect().then(() => true, () => false);
        if (!has) missing.push(n.infra_address!);
      }),
    );
    if (missing.length === 0) return true;
    const ctx = projectReader(cluster);
    const image = matchImage(await this.clients.images.list(ctx), ref);
    if (!image) return false;
    await Promise.all(missing.map((address) => this.loadInto(ctx, tls, address, image, ref)));
    return true;
  }

  private async loadInto(ctx: RequestContext, tls: ClusterTls, address: string, image: ImageSummary, ref: string): Promise<void> {
    const engine = this.nodes.engine(tls, address, 120_000);
    const output = await followEngineStream(engine, await engine.loadImage(await this.clients.images.openData(ctx, image.id)));
    const loaded = output
      .map((o) => (o as { stream?: string }).stream ?? '')
      .join('')
      .match(/Loaded image(?: ID)?: (\S+)/g)
      ?.map((l) => l.replace(/^Loaded image(?: ID)?: /, ''));
    const id = loaded?.[loaded.length - 1];
    if (!id) throw new Error(`node ${address} loaded nothing from image ${image.id}`);
    const colon = ref.lastIndexOf(':');
    await engine.getImage(id).tag({ repo: ref.slice(0, colon), tag: ref.slice(colon + 1) });
    this.log(`clusters: loaded image ${image.id} as ${ref} into node ${address}`);
  }
}
