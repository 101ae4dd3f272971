// The config drive: what a server is told about itself (OpenStack's meta_data.json, user data),
// delivered on a read-only volume filled before it starts. As in Nova, a server gets one when it
// asks (config_drive=true) or has something to deliver (a key, user data, metadata).
import type { ContainerOptions } from '../agent/driver.ts';
import type { KeypairRow, ServerRow } from './tables.ts';

/** The files of the server's config drive, by path under the drive; empty when it has none. */
export function configDriveFiles(row: ServerRow, key: KeypairRow | undefined, options: ContainerOptions | null): Record<string, string> {
  const metadata = JSON.parse(row.metadata) as Record<string, string>;
  const hasMetadata = Object.keys(metadata).length > 0;
  const wanted = Boolean(key || row.user_data || options?.configDrive === true || (hasMetadata && options?.configDrive !== false));
  if (!wanted) return {};
  const metaData = {
    uuid: row.id,
    name: row.name,
    hostname: row.name,
    availability_zone: row.availability_zone ?? 'nova',
    project_id: row.project_id,
    meta: metadata,
    public_keys: key ? { [key.name]: key.public_key } : {},
    keys: key ? [{ name: key.name, type: key.type, data: key.public_key }] : [],
    launch_index: 0,
  };
  const files: Record<string, string> = { 'openstack/latest/meta_data.json': JSON.stringify(metaData) };
  if (row.user_data) files['openstack/latest/user_data'] = Buffer.from(row.user_data, 'base64').toString('utf8');
  return files;
}
