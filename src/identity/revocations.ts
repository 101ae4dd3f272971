// Token revocation events, kept in the database and mirrored in memory so that validating a token
// stays a few map look-ups. Other controllers' events are picked up by polling the table.
import type { Kysely } from 'kysely';
import type { TokenClaims } from './tokens.ts';

export interface RevocationEvent {
  userId?: string;
  projectId?: string;
  domainId?: string;
  roleId?: string;
  auditId?: string;
  appCredId?: string;
  trustId?: string;
  /** Tokens issued at or before this time (ms) that match are revoked. */
  issuedBefore: number;
}

type Row = {
  seq: number;
  user_id: string | null;
  project_id: string | null;
  domain_id: string | null;
  role_id: string | null;
  audit_id: string | null;
  app_cred_id: string | null;
  trust_id: string | null;
  issued_before: string;
  expires_at: string;
};

export class RevocationList {
  private lastSeq = 0;
  /** Composite key ("user:x|project:y") -> latest issued_before in ms. */
  private readonly index = new Map<string, number>();
  /** Moves on with every event remembered, so that a token found unrevoked need not be looked up again until then. */
  version = 0;

  constructor(private readonly db: Kysely<any>, private readonly maxTokenTtlMs: number) {}

  private static key(e: Omit<RevocationEvent, 'issuedBefore'>): string {
    return [
      e.userId ? `u:${e.userId}` : '',
      e.projectId ? `p:${e.projectId}` : '',
      e.domainId ? `d:${e.domainId}` : '',
      e.roleId ? `r:${e.roleId}` : '',
      e.auditId ? `a:${e.auditId}` : '',
      e.appCredId ? `c:${e.appCredId}` : '',
      e.trustId ? `t:${e.trustId}` : '',
    ].join('|');
  }

  private remember(e: RevocationEvent): void {
    const k = RevocationList.key(e);
    const prev = this.index.get(k) ?? 0;
    if (e.issuedBefore > prev) {
      this.index.set(k, e.issuedBefore);
      this.version++;
    }
  }

  /** Loads events newer than what this process has seen (all of them on first call). */
  async refresh(): Promise<void> {
    const now = new Date().toISOString();
    const rows = (await this.db
      .selectFrom('identity_revocations')
      .selectAll()
      .where('seq', '>', this.lastSeq)
      .where('expires_at', '>', now)
      .orderBy('seq')
      .execute()) as Row[];
    for (const r of rows) {
      this.lastSeq = Math.max(this.lastSeq, Number(r.seq));
      this.remember({
        userId: r.user_id ?? undefined,
        projectId: r.project_id ?? undefined,
        domainId: r.domain_id ?? undefined,
        roleId: r.role_id ?? undefined,
        auditId: r.audit_id ?? undefined,
        appCredId: r.app_cred_id ?? undefined,
        trustId: r.trust_id ?? undefined,
        issuedBefore: Date.parse(r.issued_before),
      });
    }
  }

  async revoke(event: Omit<RevocationEvent, 'issuedBefore'>, trx: Kysely<any> = this.db): Promise<void> {
    const issuedBefore = Date.now();
    await trx
      .insertInto('identity_revocations')
      .values({
        user_id: event.userId ?? null,
        project_id: event.projectId ?? null,
        domain_id: event.domainId ?? null,
        role_id: event.roleId ?? null,
        audit_id: event.auditId ?? null,
        app_cred_id: event.appCredId ?? null,
        trust_id: event.trustId ?? null,
        issued_before: new Date(issuedBefore).toISOString(),
        expires_at: new Date(issuedBefore + this.maxTokenTtlMs + 60_000).toISOString(),
      })
      .execute();
    this.remember({ ...event, issuedBefore });
  }

  /** Drops expired events from the table (they can no longer match a live token). */
  async prune(): Promise<void> {
    await this.db.deleteFrom('identity_revocations').where('expires_at', '<=', new Date().toISOString()).execute();
  }

  isRevoked(claims: TokenClaims): boolean {
    if (this.index.size === 0) return false;
    const issued = claims.issuedAt * 1000;
    const hit = (e: Omit<RevocationEvent, 'issuedBefore'>) => {
      const before = this.index.get(RevocationList.key(e));
      return before !== undefined && issued <= before;
    };
    const projectId = claims.scope.kind === 'project' ? claims.scope.id : undefined;
    const domainId =
      claims.scope.kind === 'domain' ? claims.scope.id : claims.scope.kind === 'project' ? claims.scope.domainId : undefined;
    if (claims.auditIds.some((a) => hit({ auditId: a }))) return true;
    if (hit({ userId: claims.userId })) return true;
    if (hit({ domainId: claims.userDomainId })) return true;
    if (projectId && (hit({ projectId }) || hit({ userId: claims.userId, projectId }))) return true;
    if (domainId && (hit({ domainId }) || hit({ userId: claims.userId, domainId }))) return true;
    if (claims.appCredId && hit({ appCredId: claims.appCredId })) return true;
    if (claims.roles.some((r) => hit({ roleId: r.id }))) return true;
    const trust = claims.trust;
    if (trust) {
      // A trust token dies with the trust and with either party: the trustor's events (disabled,
      // deleted, a role lost on the project) count even when the token is the trustee's.
      if (hit({ trustId: trust.id })) return true;
      for (const userId of [trust.trustorId, trust.trusteeId]) {
        if (userId === claims.userId) continue;
        if (hit({ userId })) return true;
        if (projectId && hit({ userId, projectId })) return true;
        if (domainId && hit({ userId, domainId })) return true;
      }
    }
    return false;
  }
}
