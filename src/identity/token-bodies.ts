// GET /v3/auth/tokens answers: a token's rendered body (catalog included) is kept until the token
// expires or the catalog changes; a revocation is checked on every request before the body is used.
import type { CatalogCache } from './catalog.ts';
import type { TokenService } from './token-service.ts';
import { tokenView } from './views.ts';

const MAX_BODIES = 4096;

export class TokenBodies {
  private readonly bodies = new Map<string, { version: number; body: string }>();

  constructor(private readonly tokens: TokenService, private readonly catalog: CatalogCache) {}

  /** The JSON body of a valid token; NotFoundError when it is not valid (expired, revoked, forged). */
  async render(token: string, withCatalog: boolean): Promise<string> {
    const claims = this.tokens.claimsOf(token);
    const scope = claims.scope;
    const catalog = withCatalog && scope.kind !== 'unscoped' ? await this.catalog.forProject(scope.kind === 'project' ? scope.id : undefined) : undefined;
    const version = catalog?.version ?? -1;
    const key = `${withCatalog ? 'c' : 'n'}${token}`;
    const hit = this.bodies.get(key);
    if (hit && hit.version === version) {
      // Least recently used goes first: a hit moves to the end.
      this.bodies.delete(key);
      this.bodies.set(key, hit);
      return hit.body;
    }
    const body = JSON.stringify(tokenView(claims, catalog?.entries, false));
    if (this.bodies.size >= MAX_BODIES) this.bodies.delete(this.bodies.keys().next().value!);
    this.bodies.set(key, { version, body });
    return body;
  }
}
