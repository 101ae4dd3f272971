// The body of scripts/hosts.sh: starts or removes nested Docker hosts on an outer engine.
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { ensureLocalEngine } from '../src/host/local-engine.ts';
import { removeAllNestedHosts, startNestedHosts } from '../src/host/nested-hosts.ts';

async function outerEngine(given: string | undefined): Promise<string> {
  if (given) return given;
  const engine = await ensureLocalEngine(loadConfig().dataDir);
  return `unix://${engine.socket}`;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'up') {
    const count = Number(rest[0] ?? '2');
    if (!Number.isInteger(count) || count < 1 || count > 20) throw new Error('usage: scripts/hosts.sh up N [ENGINE] (1 <= N <= 20)');
    // ownerPid 0: the hosts outlive this command until `scripts/hosts.sh down`.
    const set = await startNestedHosts({ outerEndpoint: await outerEngine(rest[1]), count, ownerPid: 0, pkiDir: path.join(loadConfig().dataDir, 'pki', 'nested-hosts') });
    for (const h of set.hosts) process.stdout.write(`${h.name} ${h.endpoint}\n`);
    process.stdout.write(`HAFEN_DOCKER_HOSTS=${set.hosts.map((h) => h.endpoint).join(',')}\n`);
  } else if (command === 'down') {
    await removeAllNestedHosts(await outerEngine(rest[0]));
    process.stdout.write('nested hosts removed\n');
  } else {
    throw new Error('usage: scripts/hosts.sh up N [ENGINE] | down [ENGINE]');
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`hosts: ${err.message}\n`);
  process.exit(1);
});
