import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tenantInspect } from './inspect.ts';

const ENGINE_ID = 'a3f1c2d4e5b60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef0';
const IMAGE_ID = 'sha256:0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100f';
const ROOT = '/work/x/.hafen-test/engine-shared/engine/data/docker';
const EXEC_ROOT = '/work/x/.hafen-test/engine-shared/engine/data/exec';
const SERVER = '5b0e6a5e-1c1d-4f4e-9a9b-1234567890ab';

/** An inspect document as Docker 20.10 answers it for a hafen server on a tenant network. */
const raw = {
  Id: ENGINE_ID,
  Created: '2026-11-25T10:00:00.000000000Z',
  Path: 'sh',
  Args: ['-c', 'echo booted; exec sleep 3600'],
  State: { Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 41234, ExitCode: 0, Error: '', StartedAt: '2026-11-25T10:00:01Z', FinishedAt: '0001-01-01T00:00:00Z' },
  Image: IMAGE_ID,
  ResolvConfPath: `${ROOT}/containers/${ENGINE_ID}/resolv.conf`,
  HostnamePath: `${ROOT}/containers/${ENGINE_ID}/hostname`,
  HostsPath: `${ROOT}/containers/${ENGINE_ID}/hosts`,
  LogPath: `${ROOT}/containers/${ENGINE_ID}/${ENGINE_ID}-json.log`,
  Name: `/hafen-${SERVER}`,
  RestartCount: 0,
  Driver: 'overlay2',
  Platform: 'linux',
  ExecIDs: ['1111111111111111111111111111111111111111111111111111111111111111'],
  HostConfig: {
    Binds: ['hafen-vol-0123abcd:/data', `hafen-cfg-${SERVER}:/mnt/config:ro`],
    ContainerIDFile: '',
    LogConfig: { Type: 'json-file', Config: {} },
    NetworkMode: 'hafen-net-9d9d',
    PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    CapAdd: ['CHOWN'],
    CapDrop: ['ALL'],
    CgroupParent: '/docker/hafen',
    Privileged: false,
    Memory: 67108864,
    PidsLimit: 256,
    SecurityOpt: ['no-new-privileges'],
    ExtraHosts: ['hafen-api:10.0.0.1'],
  },
  GraphDriver: { Data: { LowerDir: `${ROOT}/overlay2/abc-init/diff:${ROOT}/overlay2/def/diff`, MergedDir: `${ROOT}/overlay2/abc/merged`, UpperDir: `${ROOT}/overlay2/abc/diff`, WorkDir: `${ROOT}/overlay2/abc/work` }, Name: 'overlay2' },
  Mounts: [
    { Type: 'volume', Name: 'hafen-vol-0123abcd', Source: `${ROOT}/volumes/hafen-vol-0123abcd/_data`, Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
  ],
  Config: {
    Hostname: 'web',
    Domainname: '',
    User: '',
    Tty: false,
    OpenStdin: true,
    Env: ['PATH=/usr/bin:/bin', 'DB_HOST=10.0.0.5'],
    Cmd: ['sh', '-c', 'echo booted; exec sleep 3600'],
    Image: 'sha256:0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100f',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    Labels: { 'hafen.server_id': SERVER, 'hafen.managed': 'true', 'hafen.cloud': 'cloud-1', tier: 'web' },
  },
  NetworkSettings: {
    Bridge: '',
    SandboxID: 'feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface',
    HairpinMode: false,
    Ports: {},
    SandboxKey: `${EXEC_ROOT}/netns/feedfacefeed`,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    MacAddress: '',
    Networks: {
      'hafen-net-9d9d': {
        IPAMConfig: { IPv4Address: '10.0.0.5' },
        Links: null,
        Aliases: ['web.app', ENGINE_ID.slice(0, 12)],
        NetworkID: 'beefbeefbeefbeefbeefbeefbeefbeefbeefbeefbeefbeefbeefbeefbeefbeef',
        EndpointID: 'cafecafecafecafecafecafecafecafecafecafecafecafecafecafecafecafe',
        Gateway: '10.0.0.1',
        IPAddress: '10.0.0.5',
        IPPrefixLen: 24,
        MacAddress: 'fa:16:3e:00:00:05',
        DriverOpts: null,
      },
    },
  },
};

describe('the tenant view of an inspect document', () => {
  const view = tenantInspect(raw, SERVER) as any;
  const text = JSON.stringify(view);

  it('keeps what describes the container', () => {
    assert.equal(view.Id, SERVER);
    assert.equal(view.Name, `/${SERVER}`);
    assert.equal(view.State.Running, true);
    assert.equal(view.State.Status, 'running');
    assert.deepEqual(view.Config.Env, ['PATH=/usr/bin:/bin', 'DB_HOST=10.0.0.5']);
    assert.deepEqual(view.Config.Cmd, raw.Config.Cmd);
    assert.equal(view.Config.Hostname, 'web');
    assert.deepEqual(view.Config.Labels, { tier: 'web' });
    assert.equal(view.HostConfig.Memory, 67108864);
    assert.deepEqual(view.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
    assert.equal(view.HostConfig.NetworkMode, 'hafen-net-9d9d');
    const ep = view.NetworkSettings.Networks['hafen-net-9d9d'];
    assert.equal(ep.IPAddress, '10.0.0.5');
    assert.equal(ep.Gateway, '10.0.0.1');
    assert.deepEqual(ep.Aliases, ['web.app']);
    assert.deepEqual(view.Mounts, [{ Type: 'volume', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }]);
  });

  it('leaves out engine ids, host paths, the host pid, volume names and hafen labels', () => {
    for (const secret of [ENGINE_ID, ENGINE_ID.slice(0, 12), IMAGE_ID.slice(7), 'feedface', 'beefbeef', 'cafecafe', '1111111111', ROOT, EXEC_ROOT, '.hafen-test', 'hafen-vol-', 'hafen-cfg-', 'cloud-1', '/docker/hafen', 'hafen.server_id']) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.equal(view.State.Pid, undefined);
    assert.equal(view.Image, '');
    assert.equal(view.Config.Image, '');
    assert.equal(view.ExecIDs, null);
    assert.equal(view.HostConfig.Binds, undefined);
    assert.deepEqual(view.GraphDriver, { Name: 'overlay2', Data: null });
    for (const k of ['ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath']) assert.equal(view[k], undefined, k);
  });

  it('takes host paths and engine ids out of the engine\'s error text', () => {
    const failed = tenantInspect({ ...raw, State: { ...raw.State, Running: false, Error: `OCI runtime create failed: ${ROOT}/overlay2/abc/merged: image ${IMAGE_ID.slice(7)} in ${ENGINE_ID}` } }, SERVER) as any;
    assert.equal(failed.State.Error, `OCI runtime create failed: : image  in ${SERVER}`);
  });

  it('keeps no field it does not know', () => {
    const v = tenantInspect({ ...raw, NewHostThing: '/etc/shadow', State: { ...raw.State, HostDetail: 1 }, NetworkSettings: { ...raw.NetworkSettings, Networks: { n: { NewId: 'x', IPAddress: '1.2.3.4' } } } }, SERVER) as any;
    assert.equal(v.NewHostThing, undefined);
    assert.equal(v.State.HostDetail, undefined);
    assert.deepEqual(v.NetworkSettings.Networks.n, { IPAddress: '1.2.3.4' });
  });

  it('refuses what is not a document', () => {
    assert.throws(() => tenantInspect(null, SERVER));
  });
});
