// The labels hafen puts on engine objects (containers, networks, volumes): the one place the Docker
// driver, the dataplane and the engine-network plumbing read their names from.

/** Which cloud made the object (its id): clouds sharing an engine leave each other's objects alone. */
export const CLOUD_LABEL = 'hafen.cloud';
/** The server a container holds (compute's id). */
export const SERVER_LABEL = 'hafen.server_id';
/** Made by hafen (any cloud, any role). */
export const MANAGED_LABEL = 'hafen.managed';
