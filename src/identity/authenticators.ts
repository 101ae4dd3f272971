// What the token service asks of the ways to authenticate and scope that live in their own modules
// (application credentials, trusts), so that the token service imports none of them.
import type { AccessRule } from '../platform/auth/access-rules.ts';
import type { DomainRow, UserRow } from './store.ts';
import type { TokenRole, TokenScopeClaims, TrustClaims } from './tokens.ts';

export interface AuthRequest {
  identity: {
    methods: string[];
    password?: { user?: { id?: string; name?: string; password?: string; domain?: { id?: string; name?: string } } };
    token?: { id?: string };
    application_credential?: AppCredentialRef;
  };
  scope?:
    | 'unscoped'
    | {
        project?: { id?: string; name?: string; domain?: { id?: string; name?: string } };
        domain?: { id?: string; name?: string };
        system?: { all?: boolean };
        'OS-TRUST:trust'?: { id?: string };
      };
}

export interface AppCredentialRef {
  id?: string;
  name?: string;
  secret?: string;
  user?: { id?: string; name?: string; domain?: { id?: string; name?: string } };
}

export interface AppCredentialAuthenticator {
  /** Checks the secret and expiry; throws UnauthorizedError on any mismatch. */
  authenticate(ref: AppCredentialRef | undefined): Promise<{
    user: UserRow;
    appCred: { id: string; projectId: string; roleIds: string[] | null; accessRules?: AccessRule[] };
  }>;
}

/** What a token of a trust is: whose it is, on what, with which roles, until when. */
export interface TrustScope {
  user: UserRow;
  userDomain: DomainRow;
  scope: TokenScopeClaims;
  roles: TokenRole[];
  trust: TrustClaims;
  /** Seconds since the epoch; the trust's own expiry, if it has one. */
  expiresAt?: number;
}

export interface TrustAuthenticator {
  /**
   * The scope of a token of `trustId` for `trustee` (the authenticated user), consuming one use of
   * a trust with `remaining_uses`. Throws NotFoundError for an unknown, expired or used-up trust and
   * ForbiddenError when the user is not its trustee or the trustor can no longer delegate.
   */
  scopeOfTrust(trustId: string, trustee: UserRow): Promise<TrustScope>;
}
