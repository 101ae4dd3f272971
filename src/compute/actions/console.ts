// os-getConsoleOutput: the container's log, its last `length` lines.
import { BadRequestError, ConflictError } from '../../platform/errors.ts';
import { novaStatus } from '../states.ts';
import type { ServerAction } from './types.ts';

export const consoleOutput: ServerAction = async ({ core, hosts }, { ctx, row, arg }) => {
  core.enforce(ctx, 'servers:console_output');
  const st = novaStatus(row);
  if (!row.host_id || st === 'BUILD' || st === 'ERROR') throw new ConflictError(`Cannot 'get_console_output' instance ${row.id} while it is in vm_state ${row.vm_state}`);
  const length = (arg as { length?: unknown } | null)?.length;
  let tail: number | null = null;
  if (length !== undefined && length !== null) {
    const n = typeof length === 'string' ? Number(length) : length;
    if (!Number.isInteger(n) || (n as number) < -1) throw new BadRequestError('Invalid input for field/attribute length.');
    tail = (n as number) < 0 ? null : (n as number);
  }
  return { output: await hosts.driverOf(row.host_id).consoleLog(row.id, tail) };
};
