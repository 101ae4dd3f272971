// createImage: the container committed and saved into the image service as a new docker image.
import { BadRequestError, ConflictError } from '../../platform/errors.ts';
import { need, type ServerAction } from './types.ts';

export const createImage: ServerAction = async ({ core, hosts, actions }, { ctx, row, arg, requestId }) => {
  const id = row.id;
  core.enforce(ctx, 'servers:create_image');
  need(row, 'createImage', ['active', 'stopped', 'paused', 'suspended']);
  if (!hosts.driverOf(row.host_id).capabilities.snapshot) throw new ConflictError(`The host of instance ${id} cannot snapshot servers.`);
  const a = (arg ?? {}) as Record<string, unknown>;
  if (typeof a.name !== 'string' || !a.name) throw new BadRequestError("Invalid input for field/attribute name. 'name' is a required property");
  await core.store.updateServer(id, { task_state: 'image_snapshot' });
  await actions.record(row, 'createImage', requestId, ctx);
  try {
    const data = await hosts.driverOf(row.host_id).snapshot(id, a.name);
    const image = await core.images.createFromStream(
      ctx,
      { name: a.name, container_format: 'docker', disk_format: 'raw', properties: { ...(a.metadata as Record<string, string> | undefined), image_type: 'snapshot', instance_uuid: id } },
      data,
    );
    await actions.finish(id, 'createImage', 'Success');
    return { image_id: image.id };
  } finally {
    await core.store.updateServer(id, { task_state: null });
  }
};
