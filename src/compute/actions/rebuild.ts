// rebuild: the container replaced by one of the (new) image, keeping the server's id, ports and
// the interfaces attached after boot.
import { BadRequestError, NotFoundError } from '../../platform/errors.ts';
import type { ImageRecord } from '../../image/client.ts';
import { serverSpec } from '../build.ts';
import { interfaceSpec } from '../interfaces.ts';
import { assertUnlocked } from '../servers.ts';
import { faultJson, powerCode } from '../states.ts';
import type { FlavorRow } from '../tables.ts';
import { conflict, need, type ServerAction } from './types.ts';

export const rebuild: ServerAction = async ({ core, hosts, actions }, { ctx, row, arg, requestId }) => {
  const id = row.id;
  core.enforce(ctx, 'servers:rebuild');
  assertUnlocked(core, ctx, row);
  need(row, 'rebuild', ['active', 'stopped', 'error']);
  const a = (arg ?? {}) as Record<string, unknown>;
  const imageId = String(a.imageRef ?? '').replace(/^.*\/images\//, '');
  if (!imageId) throw new BadRequestError("Invalid input for field/attribute imageRef. 'imageRef' is a required property");
  let image: ImageRecord;
  try {
    image = await core.images.get(ctx, imageId);
  } catch (err) {
    if (err instanceof NotFoundError) throw new BadRequestError(`Image ${imageId} could not be found.`);
    throw err;
  }
  if (image.container_format !== 'docker') throw new BadRequestError(`Image ${imageId} is not a docker image.`);
  const flavor = JSON.parse(row.flavor) as FlavorRow;
  if (!(await core.store.updateServer(id, { task_state: 'rebuilding', image_id: imageId, ...(typeof a.name === 'string' ? { name: a.name } : {}) }, { task_state: null }))) throw conflict(row, 'rebuild');
  await actions.record(row, 'rebuild', requestId, ctx);
  core.track(
    (async () => {
      try {
        const driver = hosts.driverOf(row.host_id);
        await driver.ensureImage(image.id, image.docker_image_id ?? '', () => core.images.openData(ctx, image.id));
        await driver.destroy(id);
        const bindings = await core.network.bindingsOf(id);
        const state = await driver.spawn(await serverSpec(core, (await core.store.server(id))!, image, flavor, bindings[0]));
        // The new container gets the interfaces attached to the old one after boot.
        for (const b of bindings.slice(1)) await driver.attachInterface(id, interfaceSpec(b));
        await core.network.serverRunning(id);
        await core.store.updateServer(id, { vm_state: state.power === 'shutdown' ? 'stopped' : 'active', task_state: null, power_state: powerCode(state.power), fault: null });
        await actions.finish(id, 'rebuild', 'Success');
      } catch (err) {
        await core.store.updateServer(id, { vm_state: 'error', task_state: null, fault: faultJson((err as Error).message) });
        await actions.finish(id, 'rebuild', 'Error');
      }
    })(),
  );
  return { rebuilt: id };
};
