// The identity service as the composition root sees it: its store, token service, rules and routes.
import type { Config } from '../config.ts';
import type { Database } from '../platform/db/database.ts';
import { exclusively } from '../platform/db/locks.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { keystoneError } from '../platform/http/envelopes.ts';
import type { ServiceMount } from '../platform/http/server.ts';
import { identityApi } from './api.ts';
import { AppCredentials } from './app-credentials.ts';
import { bootstrapIdentity, type BootstrapCredentials } from './bootstrap.ts';
import { identityPolicy } from './policy.ts';
import { IdentityService } from './service.ts';
import { IdentityStore } from './store.ts';
import { TokenService } from './token-service.ts';
import { Trusts } from './trusts.ts';
import { createIdentityClient, type IdentityClient } from './client.ts';
import { Credentials } from './credentials.ts';
import { CredentialCipher } from './credential-keys.ts';
import { Limits } from './limits.ts';
import { EndpointFilter } from './endpoint-filter.ts';
import { DomainConfigs } from './domain-configs.ts';

export interface Identity {
  service: IdentityService;
  tokens: TokenService;
  /** What other services use: delegations for deferred work. */
  client: IdentityClient;
  mount: ServiceMount;
  credentials: BootstrapCredentials;
}

export async function createIdentity(database: Database, policy: PolicyEngine, config: Config): Promise<Identity> {
  policy.registerDefaults(identityPolicy);
  const store = await IdentityStore.create(database);
  const tokens = new TokenService(store, config);
  const service = new IdentityService(store, tokens, policy, config);
  const appCredentials = new AppCredentials(service, config);
  tokens.useAppCredentials(appCredentials);
  const trusts = new Trusts(service);
  tokens.useTrusts(trusts);
  const credentialStore = new Credentials(service, new CredentialCipher(config.dataDir));
  const limits = new Limits(service);
  const endpointFilter = new EndpointFilter(service);
  const domainConfigs = new DomainConfigs(service);
  // Controllers starting together on a fresh shared database must not both create the admin rows.
  const credentials = await exclusively(database, 'identity-bootstrap', () => bootstrapIdentity(store, config));
  await tokens.start();
  return {
    service,
    tokens,
    credentials,
    client: createIdentityClient(store, tokens, trusts, limits),
    mount: { prefix: '/identity', renderError: keystoneError, register: identityApi(service, config.publicUrl, { appCredentials, trusts, credentials: credentialStore, limits, endpointFilter, domainConfigs }) },
  };
}
