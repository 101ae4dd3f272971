// Self-contained signed tokens: everything a service needs to build a request context is inside
// the token, so validating a valid token reads no database. Format:
//   hf1.<base64url(JSON claims)>.<key id>.<base64url(HMAC-SHA256)>
import fs from 'node:fs';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../platform/errors.ts';
import type { AccessRule } from '../platform/auth/access-rules.ts';
import { keyDir, loadKeyRing, type KeyRing } from './signing-keys.ts';

export interface TokenRole {
  id: string;
  name: string;
}

export type TokenScopeClaims =
  | { kind: 'project'; id: string; name: string; domainId: string; domainName: string }
  | { kind: 'domain'; id: string; name: string }
  | { kind: 'system' }
  | { kind: 'unscoped' };

/** What a trust-scoped token carries about its trust (OS-TRUST:trust in the token body). */
export interface TrustClaims {
  id: string;
  trustorId: string;
  trusteeId: string;
  impersonation: boolean;
}

export interface TokenClaims {
  userId: string;
  userName: string;
  userDomainId: string;
  userDomainName: string;
  methods: string[];
  scope: TokenScopeClaims;
  roles: TokenRole[];
  /** Seconds since the epoch, with millisecond fraction. */
  issuedAt: number;
  expiresAt: number;
  auditIds: string[];
  appCredId?: string;
  /** The application credential's access rules (service, method, path), when it has any. */
  accessRules?: AccessRule[];
  trust?: TrustClaims;
  /** When the user's password expires (ISO), shown as the token user's password_expires_at. */
  passwordExpiresAt?: string;
  /** Groups whose assignments contributed roles; a change to them revokes the token. */
  groupIds?: string[];
}

const PREFIX = 'hf1';

export function newAuditId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

export class TokenCodec {
  private ring: KeyRing;
  private lastReload = 0;

  constructor(private readonly dataDir: string) {
    this.ring = loadKeyRing(dataDir);
  }

  /** Re-reads the key ring (after `hafen keys rotate`), at most once a second. */
  private maybeReload(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastReload < 1000) return;
    this.lastReload = now;
    try {
      const stamp = fs.statSync(keyDir(this.dataDir)).mtimeMs;
      if (force || stamp !== this.dirStamp) {
        this.ring = loadKeyRing(this.dataDir);
        this.dirStamp = stamp;
      }
    } catch {
      // keep the ring we have; a missing directory is recreated on the next load
    }
  }
  private dirStamp = 0;

  encode(claims: TokenClaims): string {
    this.maybeReload();
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const key = this.ring.primary;
    const signed = `${PREFIX}.${body}.${key.id}`;
    const mac = createHmac('sha256', key.secret).update(signed).digest('base64url');
    return `${signed}.${mac}`;
  }

  /** Whether tokens signed with `keyId` are still accepted (the key ring is re-read at most once a second). */
  knowsKey(keyId: number): boolean {
    this.maybeReload();
    return this.ring.byId.has(keyId);
  }

  /** Checks format, signature and expiry; throws 401 for anything wrong. */
  decode(token: string, now = Date.now()): TokenClaims {
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== PREFIX || !/^\d+$/.test(parts[2])) throw invalid();
    const keyId = Number(parts[2]);
    let key = this.ring.byId.get(keyId);
    if (!key) {
      this.maybeReload(true);
      key = this.ring.byId.get(keyId);
      if (!key) throw invalid();
    }
    const expected = createHmac('sha256', key.secret).update(`${parts[0]}.${parts[1]}.${parts[2]}`).digest();
    const given = Buffer.from(parts[3], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      throw invalid();
    }
    if (!(claims.expiresAt * 1000 > now)) throw new UnauthorizedError('The token has expired.');
    return claims;
  }
}

function invalid(): UnauthorizedError {
  return new UnauthorizedError('The request you have made requires authentication.');
}
