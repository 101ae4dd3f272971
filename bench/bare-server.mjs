// The bare framework for bench/identity.ts: a Fastify server with no routes and no logging, in a
// process of its own; every request takes its 404 path. Prints its port.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
