// `hafen agent --controller URL --docker ENDPOINT`: runs a remote agent for one Docker engine in the
// foreground, logged in with an admin's application credential (or a clouds.yaml cloud).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { Agent, type AgentCredential } from '../agent/remote/agent.ts';
import { loadConfig } from '../config.ts';
import { checkCertDir, formatEngineEndpoint, parseEngineEndpoint } from '../host/engine-client.ts';

interface CloudEntry {
  auth_type?: string;
  auth: Record<string, string | undefined>;
}

/** `id:secret`, or `@file` holding it (so that the secret need not be on the command line). */
function parseCredential(raw: string): AgentCredential {
  const text = raw.startsWith('@') ? fs.readFileSync(raw.slice(1), 'utf8').trim() : raw.trim();
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) throw new Error('--credential must be <application credential id>:<secret> or @file');
  return { kind: 'application_credential', id: text.slice(0, i), secret: text.slice(i + 1) };
}

/** A cloud of clouds.yaml: a password (user with the admin role) or an application credential. */
function cloudCredential(file: string, name: string): { credential: AgentCredential; authUrl: string } {
  const clouds = (YAML.parse(fs.readFileSync(file, 'utf8')) as { clouds?: Record<string, CloudEntry> }).clouds ?? {};
  const cloud = clouds[name];
  if (!cloud) throw new Error(`no cloud ${name} in ${file}`);
  const a = cloud.auth;
  if (!a.auth_url) throw new Error(`cloud ${name} has no auth_url`);
  if (cloud.auth_type === 'v3applicationcredential' || a.application_credential_id) {
    return { authUrl: a.auth_url, credential: { kind: 'application_credential', id: a.application_credential_id ?? '', secret: a.application_credential_secret ?? '' } };
  }
  return {
    authUrl: a.auth_url,
    credential: {
      kind: 'password',
      username: a.username ?? '',
      password: a.password ?? '',
      userDomainName: a.user_domain_name ?? 'Default',
      projectName: a.project_name ?? '',
      projectDomainName: a.project_domain_name ?? 'Default',
    },
  };
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('Run the agent of one Docker host: registers it with the controller and serves its driver calls')
    .requiredOption('--controller <url>', 'the controller, e.g. http://127.0.0.1:8780')
    .requiredOption('--docker <endpoint>', 'the engine to drive: unix:///path or tcp://host:port (TLS; see --cert-dir)')
    .option('--cert-dir <dir>', 'client certificate directory (ca.pem, cert.pem, key.pem) for a tcp:// engine (default: ?cert_dir= of --docker, else $HAFEN_DOCKER_CERT_DIR)')
    .option('--credential <id:secret|@file>', 'application credential of a user with the admin role (default: $HAFEN_AGENT_CREDENTIAL)')
    .option('--cloud <name>', 'log in as this cloud of clouds.yaml instead (password or application credential)')
    .option('--clouds-yaml <file>', 'clouds.yaml for --cloud (default: $OS_CLIENT_CONFIG_FILE, else $HAFEN_DATA_DIR/clouds.yaml)')
    .option('--host-id <id>', "the host's id (default: derived from the engine's own id)")
    .option('--availability-zone <zone>', 'availability zone of the host', 'nova')
    .option('--address <ipv4>', "the host's address, where the controller routes its servers' floating IPs (default: the host of a tcp:// --docker URL)")
    .action(async (opts: { controller: string; docker: string; certDir?: string; credential?: string; cloud?: string; cloudsYaml?: string; hostId?: string; availabilityZone: string; address?: string }) => {
      if (!/^https?:\/\/[^/]+\/?$/.test(opts.controller)) fail('--controller must be http(s)://host[:port]');
      let docker: string;
      try {
        const certDir = opts.certDir ? path.resolve(opts.certDir) : process.env.HAFEN_DOCKER_CERT_DIR || undefined;
        const endpoint = parseEngineEndpoint(opts.certDir && opts.docker.startsWith('tcp://') ? `${opts.docker.replace(/\?.*$/, '')}?cert_dir=${encodeURIComponent(certDir!)}` : opts.docker, certDir);
        if (endpoint.kind === 'tcp') checkCertDir(endpoint.certDir);
        docker = formatEngineEndpoint(endpoint);
      } catch (err) {
        fail(`--docker: ${(err as Error).message}`);
      }
      if (opts.address !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(opts.address)) fail('--address must be an IPv4 address');
      let credential: AgentCredential;
      let authUrl: string | undefined;
      try {
        if (opts.cloud) {
          const file = opts.cloudsYaml ?? process.env.OS_CLIENT_CONFIG_FILE ?? path.join(loadConfig().dataDir, 'clouds.yaml');
          ({ credential, authUrl } = cloudCredential(file, opts.cloud));
        } else {
          const raw = opts.credential ?? process.env.HAFEN_AGENT_CREDENTIAL;
          if (!raw) fail('give --credential <id:secret|@file>, $HAFEN_AGENT_CREDENTIAL or --cloud <name>');
          credential = parseCredential(raw);
        }
      } catch (err) {
        fail((err as Error).message);
      }
      const agent = new Agent({ controller: opts.controller, docker, credential, ...(authUrl ? { authUrl } : {}), ...(opts.hostId ? { hostId: opts.hostId } : {}), ...(opts.address ? { address: opts.address } : {}), availabilityZone: opts.availabilityZone });
      try {
        await agent.start();
      } catch (err) {
        fail(`start-up failed: ${(err as Error).message}`);
      }
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        process.stderr.write('hafen agent: stopping\n');
        await agent.stop();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}

function fail(message: string): never {
  process.stderr.write(`hafen agent: ${message}\n`);
  process.exit(1);
}
