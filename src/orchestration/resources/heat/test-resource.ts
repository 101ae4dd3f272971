// OS::Heat::TestResource: Heat's own resource for exercising the engine: it can wait, fail on
// demand, and be updated in place or replaced, without touching any other service.
import type { ResourceHandle, ResourceType } from '../types.ts';

async function pause(h: ResourceHandle, secs: number): Promise<void> {
  if (secs <= 0) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, secs * 1000);
    h.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

function waitFor(props: Record<string, unknown>, action: 'create' | 'update' | 'delete'): number {
  const per = (props.action_wait_secs as Record<string, number> | undefined)?.[action];
  return Number(per ?? props.wait_secs ?? 0);
}

export const heatTestResource: ResourceType = {
  type: 'OS::Heat::TestResource',
  description: 'A resource which stores the string value that was provided, and can wait or fail on demand.',
  properties: {
    value: { type: 'string', default: 'test_string', update_allowed: true, description: 'The input string to be stored.' },
    update_replace: { type: 'boolean', default: false, update_allowed: true, description: 'Replace the resource on update instead of updating it in place.' },
    fail: { type: 'boolean', default: false, update_allowed: true, description: 'Whether the resource fails.' },
    wait_secs: { type: 'number', default: 0, update_allowed: true, description: 'Seconds to wait after an action.' },
    action_wait_secs: {
      type: 'map',
      update_allowed: true,
      description: 'Options for simulating waiting, per action.',
      schema: { create: { type: 'number' }, update: { type: 'number' }, delete: { type: 'number' } },
    },
  },
  attributes: { output: { description: 'The string that was stored.', type: 'string' } },
  async create(h, props) {
    h.data.value = props.value;
    h.data.props = props;
    await pause(h, waitFor(props, 'create'));
    if (props.fail) throw new Error('Test Resource failed TestResource');
    return h.physicalName;
  },
  async update(h, _id, props, _old, changed) {
    if (props.update_replace && changed.length > 0) throw new ReplaceRequired();
    h.data.value = props.value;
    h.data.props = props;
    await pause(h, waitFor(props, 'update'));
    if (props.fail) throw new Error('Test Resource failed TestResource');
  },
  async delete(h) {
    await pause(h, waitFor((h.data.props ?? {}) as Record<string, unknown>, 'delete'));
  },
  async attribute(h, _id, name) {
    return name === 'output' ? h.data.value : null;
  },
};

/** Thrown by an update hook that finds it must replace the resource after all. */
export class ReplaceRequired extends Error {
  override readonly name = 'ReplaceRequired';
}
