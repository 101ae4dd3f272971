// `hafen stack create --compose docker-compose.yml NAME`: deploys a Compose file as an
// orchestration stack of the caller's project (env_file contents travel in the request's files).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { loadConfig } from '../config.ts';
import { logIn } from './cloud-auth.ts';

export function registerStack(program: Command): void {
  const stack = program.command('stack').description('Stacks beyond the openstack CLI');
  stack
    .command('create <name>')
    .description('Create a stack from a Compose file')
    .requiredOption('--compose <file>', 'docker-compose.yml to deploy')
    .option('--cloud <cloud>', 'cloud in $HAFEN_DATA_DIR/clouds.yaml to act as', 'hafen-demo')
    .option('--wait', 'wait until the stack is complete or failed')
    .action(async (name: string, opts: { compose: string; cloud: string; wait?: boolean }) => {
      const config = loadConfig();
      const text = fs.readFileSync(opts.compose, 'utf8');
      const doc = YAML.parse(text) as { services?: Record<string, { env_file?: string | string[] }> };
      const files: Record<string, string> = {};
      for (const svc of Object.values(doc?.services ?? {})) {
        for (const f of svc?.env_file === undefined ? [] : Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file]) {
          files[f] = fs.readFileSync(path.resolve(path.dirname(opts.compose), f), 'utf8');
        }
      }
      const session = await logIn(config, opts.cloud);
      const heat = session.endpoint('orchestration');
      const headers = { 'content-type': 'application/json', 'x-auth-token': session.token };
      const res = await fetch(`${heat}/stacks`, { method: 'POST', headers, body: JSON.stringify({ stack_name: name, template: text, template_format: 'compose', files }) });
      const body = (await res.json()) as { stack?: { id: string }; error?: { message: string } };
      if (res.status !== 201) throw new Error(`stack create failed: ${res.status} ${body.error?.message ?? JSON.stringify(body)}`);
      let status = 'CREATE_IN_PROGRESS';
      let reason = '';
      while (opts.wait && status.endsWith('IN_PROGRESS')) {
        await new Promise((r) => setTimeout(r, 500));
        const shown = (await (await fetch(`${heat}/stacks/${name}/${body.stack!.id}`, { headers })).json()) as { stack: { stack_status: string; stack_status_reason: string } };
        status = shown.stack.stack_status;
        reason = shown.stack.stack_status_reason;
      }
      process.stdout.write(`${body.stack!.id} ${status}${reason && !status.endsWith('COMPLETE') ? ` ${reason}` : ''}\n`);
      if (status.endsWith('FAILED')) process.exitCode = 1;
    });
}
