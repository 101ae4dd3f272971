// `hafen up` runs the all-in-one cloud in the foreground; `hafen down` stops it by its pid file.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { createCloud, type Cloud } from '../main.ts';
import { engineClient } from '../host/engine-client.ts';
import { ensureLocalEngine, readPid, stopLocalEngine, writePidFile } from '../host/local-engine.ts';
import { ensureBusyboxEngineImage } from '../host/test-images.ts';
import { seedDemoImage } from '../image/seed.ts';

function pidFile(config: Config): string {
  return path.join(config.dataDir, 'hafen.pid');
}

async function engineAnswers(endpoint: string): Promise<boolean> {
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref());
  const ping = engineClient(endpoint).ping().then(() => true, () => false);
  return Promise.race([ping, timeout]);
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('Run the all-in-one cloud (starting its own Docker engine unless HAFEN_DOCKER_HOSTS is set)')
    .action(async () => {
      const config = loadConfig();
      fs.mkdirSync(config.dataDir, { recursive: true });
      const running = readPid(pidFile(config), 'hafen');
      if (running && running !== process.pid) {
        process.stderr.write(`hafen: already running as pid ${running} (hafen down stops it)\n`);
        process.exit(1);
      }
      const engine = config.dockerHosts.length === 0 && !config.agentsOnly ? await ensureLocalEngine(config.dataDir) : undefined;
      let cloud: Cloud;
      try {
        // No registry can be reached: the image demos and tests start from is built locally, once.
        if (engine) await ensureBusyboxEngineImage(engine.socket);
        for (const host of config.dockerHosts) {
          if (!(await engineAnswers(host))) process.stderr.write(`hafen: warning: HAFEN_DOCKER_HOSTS: ${host} does not answer\n`);
        }
        cloud = await createCloud(config);
        await cloud.listen();
        const adminProject = await cloud.identity.service.store.projectByName('default', cloud.identity.credentials.admin.project);
        if (adminProject) await seedDemoImage(cloud.image.service, adminProject.id);
      } catch (err) {
        // Leave nothing behind that this start-up began.
        if (engine?.started) await stopLocalEngine(config.dataDir);
        process.stderr.write(`hafen: start-up failed: ${(err as Error).message}\n`);
        process.exit(1);
      }
      writePidFile(pidFile(config));
      process.stdout.write(
        `hafen is ready at ${cloud.url}\n` +
          (engine ? `docker engine: unix://${engine.socket}\n` : config.agentsOnly ? `docker engines: none in-process; waiting for agents (hafen agent --controller ${cloud.url} ...)\n` : config.dockerHosts.map((h) => `docker engine: ${h}\n`).join('')) +
          `clouds.yaml: ${cloud.cloudsYaml}\n` +
          `try: OS_CLIENT_CONFIG_FILE=${cloud.cloudsYaml} OS_CLOUD=hafen-demo openstack token issue\n`,
      );
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        process.stdout.write('hafen: stopping\n');
        await cloud.close();
        if (engine) await stopLocalEngine(config.dataDir);
        fs.rmSync(pidFile(config), { force: true });
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

  program
    .command('down')
    .description('Stop the cloud started by hafen up (and the Docker engine it started)')
    .action(async () => {
      const config = loadConfig();
      const pid = readPid(pidFile(config), 'hafen');
      if (pid) {
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 300 && readPid(pidFile(config), 'hafen'); i++) await new Promise((r) => setTimeout(r, 100));
      }
      // A cloud killed with SIGKILL leaves its engine running: stop that too, by its own pid file.
      const engineStopped = await stopLocalEngine(config.dataDir);
      process.stdout.write(pid || engineStopped ? 'hafen: stopped\n' : 'hafen: not running\n');
    });
}
