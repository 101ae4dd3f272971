// The `hafen` command: one sub-command group per file; this file only wires them.
import { Command } from 'commander';
import { ConfigError } from '../config.ts';
import { registerUp } from './up.ts';
import { registerKeys } from './keys.ts';
import { registerImage } from './image.ts';
import { registerStack } from './stack.ts';
import { registerAgent } from './agent.ts';
import { registerEngineCerts } from './engine-certs.ts';
import { registerStatus } from './status.ts';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('hafen').description('A multi-tenant container cloud that speaks OpenStack APIs on Docker engines');
  registerUp(program);
  registerKeys(program);
  registerImage(program);
  registerStack(program);
  registerAgent(program);
  registerEngineCerts(program);
  registerStatus(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hafen: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
