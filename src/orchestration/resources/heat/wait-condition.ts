// OS::Heat::WaitCondition: completes once its handle has `count` SUCCESS signals, fails on a
// FAILURE signal or when `timeout` seconds pass first.
import type { ResourceType } from '../types.ts';
import type { WaitSignal } from './wait-condition-handle.ts';

async function signalsOf(h: Parameters<ResourceType['create']>[0]): Promise<WaitSignal[]> {
  const handle = await h.sibling(String(h.data.handle));
  return (handle?.data.signals as WaitSignal[] | undefined) ?? [];
}

export const heatWaitCondition: ResourceType = {
  type: 'OS::Heat::WaitCondition',
  description: 'Resource for handling signals received by WaitConditionHandle.',
  properties: {
    handle: { type: 'string', required: true, description: 'A reference to the wait condition handle used to signal this wait condition.' },
    timeout: { type: 'number', required: true, description: 'The number of seconds to wait for the correct number of signals to arrive.', constraints: [{ range: { min: 1, max: 43200 } }] },
    count: { type: 'integer', default: 1, update_allowed: true, description: 'The number of success signals that must be received before the stack creation process continues.', constraints: [{ range: { min: 1 } }] },
  },
  attributes: { data: { description: 'JSON string containing data associated with wait condition signals sent to the handle.', type: 'string' } },
  async create(h, props) {
    h.data.handle = props.handle;
    h.data.count = props.count;
    h.data.deadline = Date.now() + Number(props.timeout) * 1000;
    return h.physicalName;
  },
  async checkCreateComplete(h) {
    const signals = await signalsOf(h);
    const failure = signals.find((s) => s.status === 'FAILURE');
    if (failure) throw new Error(`WaitConditionFailure: resources.${h.name}: ${failure.reason}`);
    const ok = signals.filter((s) => s.status === 'SUCCESS').length;
    if (ok >= Number(h.data.count)) return true;
    if (Date.now() > Number(h.data.deadline)) throw new Error(`WaitConditionTimeout: resources.${h.name}: ${ok} of ${String(h.data.count)} received`);
    return false;
  },
  async attribute(h, _id, name) {
    if (name !== 'data') return null;
    return JSON.stringify(Object.fromEntries((await signalsOf(h)).map((s) => [s.id, s.data])));
  },
};
