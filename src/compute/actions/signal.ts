// A signal to a workload's main process (Zun's kill): the driver delivers it, and the state the
// process is in shortly after is recorded (a process that ends leaves its workload stopped).
import type { RequestContext } from '../../platform/auth/context.ts';
import { assertUnlocked } from '../servers.ts';
import { powerCode } from '../states.ts';
import type { ServerRow } from '../tables.ts';
import { need, type ActionParts } from './types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function signal({ core, hosts, actions }: ActionParts, ctx: RequestContext, row: ServerRow, name: string, requestId: string): Promise<void> {
  core.enforce(ctx, 'servers:stop');
  assertUnlocked(core, ctx, row);
  need(row, 'kill', ['active']);
  const driver = hosts.driverOf(row.host_id);
  await driver.signal(row.id, name);
  await actions.record(row, 'kill', requestId, ctx, true);
  // Most processes end at once on the signals that end them; reconciliation catches slower ones.
  for (let i = 0; i < 10; i++) {
    const state = await driver.state(row.id);
    if (state.power !== 'running') {
      await core.store.updateServer(row.id, { vm_state: 'stopped', power_state: powerCode(state.power) }, { task_state: null });
      return;
    }
    await sleep(100);
  }
}
