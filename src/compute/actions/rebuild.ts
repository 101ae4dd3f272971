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
  // The name, the description (2.19), the metadata, the key (2.54, null removes it) and the user
  // data (2.57, null removes it) change with the rebuild, as in Nova: the new container's config
  // drive is made from the row.
  if (typeof a.key_name === 'string' && !(await core.store.keypair(row.user_id, a.key_name))) throw new BadRequestError('Invalid key_name provided.');
  if (typeof a.user_data === 'string' && !/^[A-Za-z0-9+/]*={0,2}$/.test(a.user_data.replace(/\s/g, ''))) throw new BadRequestError('Invalid input for field/attribute user_data: must be base64.');
  const changes = {
    ...(typeof a.key_name === 'string' || a.key_name === null ? { key_name: a.key_name as string | null } : {}),
    ...(typeof a.user_data === 'string' || a.user_data === null ? { user_data: a.user_data as string | null } : {}),
    ...(typeof a.name === 'string' ? { name: a.name } : {}),
    ...(typeof a.description === 'string' || a.description === null ? { description: a.description as string | null } : {}),
    ...(a.metadata && typeof a.metadata === 'object' ? { metadata: JSON.stringify(a.metadata) } : {}),
  };
  if (!(await core.store.updateServer(id, { task_state: 'rebuilding', image_id: imageId, ...changes }, { task_state: null }))) throw conflict(row, 'rebuild');
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
