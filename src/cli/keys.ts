// `hafen keys rotate`: adds a new token signing key; tokens signed by kept older keys stay valid.
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { rotateKeys } from '../identity/signing-keys.ts';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Manage token signing keys');
  keys
    .command('rotate')
    .description('Make a new primary signing key, keeping the previous ones for validation')
    .action(() => {
      const config = loadConfig();
      const { newKeyId, removed } = rotateKeys(config.dataDir, config.signingKeysKept);
      process.stdout.write(`new primary signing key ${newKeyId}${removed.length ? `; removed ${removed.join(', ')}` : ''}\n`);
    });
}
