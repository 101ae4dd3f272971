// Application credentials: a user delegates a subset of its roles on one project to a named
// secret that can log in without the user's password.
import type { UserRow } from './store.ts';

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
    appCred: { id: string; projectId: string; roleIds: string[] | null };
  }>;
}
