// GET /v3/auth/tokens answers: a token's rendered body (catalog included) is kept, as the bytes sent,
// until the token expires or the catalog changes; the token is checked on every request before it is used.
import { evictOne } from '../platform/clock-eviction.ts';
import type { CatalogCache, ProjectCatalog } from './catalog.ts';
import type { TokenService } from './token-service.ts';
import type { TokenClaims } from './tokens.ts';
import { tokenView } from './views.ts';

const MAX_BODIES = 4096;

interface Rendered {
  /** The catalog version the body was rendered with (-1: without a catalog). */
  version: number;
  body: Buffer;
}

/** A token's bodies, with and without catalog; `used` as in TokenService's kept tokens (CLOCK). */
interface Kept {
  catalog: Rendered | undefined;
  plain: Rendered | undefined;
  used: boolean;
}

export class TokenBodies {
  /** By the token's claims as TokenService keeps them: one object per kept token, looked up by identity. */
  private readonly bodies = new Map<TokenClaims, Kept>();

  constructor(private readonly tokens: TokenService, private readonly catalog: CatalogCache) {}

  /**
   * The JSON body of a valid token, at once when the catalog read last is still current (else once it
   * is read); NotFoundError when the token is not valid (expired, revoked, forged), checked every time.
   */
  render(token: string, withCatalog: boolean): Buffer | Promise<Buffer> {
    const claims = this.tokens.claimsOf(token);
    const scope = claims.scope;
    if (!withCatalog || scope.kind === 'unscoped') return this.body(claims, withCatalog, undefined);
    const projectId = scope.kind === 'project' ? scope.id : undefined;
    const catalog = this.catalog.forProjectNow(projectId);
    if (catalog) return this.body(claims, true, catalog);
    return this.catalog.forProject(projectId).then((c) => this.body(claims, true, c));
  }

  private body(claims: TokenClaims, withCatalog: boolean, catalog: ProjectCatalog | undefined): Buffer {
    const version = catalog?.version ?? -1;
    let kept = this.bodies.get(claims);
    if (kept) {
      kept.used = true;
      const hit = withCatalog ? kept.catalog : kept.plain;
      if (hit && hit.version === version) return hit.body;
    } else {
      if (this.bodies.size >= MAX_BODIES) evictOne(this.bodies);
      kept = { catalog: undefined, plain: undefined, used: false };
      this.bodies.set(claims, kept);
    }
    const rendered = { version, body: Buffer.from(JSON.stringify(tokenView(claims, catalog?.entries, false))) };
    if (withCatalog) kept.catalog = rendered;
    else kept.plain = rendered;
    return rendered.body;
  }
}
