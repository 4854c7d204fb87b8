import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/pipeline/record.js';
import { publishBuild } from '../../src/publish/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { makeBuild, serials, tempDir } from '../publish/fixture.js';

const run = promisify(execFile);

/** The LXD 5.0 client from Debian's lxd-client (`/usr/bin/lxc`) reading kiln's simplestreams. */
describe('LXD client (lxc remote add --protocol=simplestreams) against kiln serve', () => {
  let work: string;
  let server: RunningServer;
  let record: BuildRecord;
  let env: NodeJS.ProcessEnv;
  const lxd = (...args: string[]) => run('/usr/bin/lxc', args, { env, timeout: 60_000 });

  beforeAll(async () => {
    work = await tempDir('lxd-client');
    const tree = join(work, 'tree');
    const [older, newer] = serials(2, Date.UTC(2026, 2, 1, 7, 42));
    const a = await makeBuild(work, { serial: older!, dist: 'kilnlxd', aliases: ['kilnlxd/edge'] });
    await publishBuild({ tree, stagingDir: a.staging, record: a.record });
    const b = await makeBuild(work, { serial: newer!, dist: 'kilnlxd', aliases: ['kilnlxd/edge'] });
    await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    record = JSON.parse(
      await readFile(join(tree, 'images/kilnlxd/1/amd64/default', newer!, 'build.json'), 'utf8'),
    ) as BuildRecord;
    server = await startServer({ tree, listen: { host: '127.0.0.1', port: 0 } });
    await mkdir(join(work, 'lxdconf'));
    env = { ...process.env, LXD_CONF: join(work, 'lxdconf'), SSL_CERT_FILE: server.caPath!, HOME: work };
    await lxd('remote', 'add', 'T', `https://127.0.0.1:${server.httpsPort}`, '--protocol=simplestreams', '--public');
  });
  afterAll(async () => {
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('lists every published build as images whose fingerprints are the ones kiln computed', async () => {
    const { stdout } = await lxd('image', 'list', 'T:', '--format', 'json');
    const images = JSON.parse(stdout) as {
      fingerprint: string;
      aliases: { name: string }[];
      properties: Record<string, string>;
      type: string;
    }[];
    const newest = images.filter((i) => i.properties.serial === record.serial);
    expect(newest.map((i) => i.fingerprint).sort()).toEqual(
      [record.fingerprints.combined_squashfs_sha256, record.fingerprints.combined_rootxz_sha256].sort(),
    );
    expect(images).toHaveLength(4);
    const squash = newest.find((i) => i.fingerprint === record.fingerprints.combined_squashfs_sha256)!;
    expect(squash.aliases.map((a) => a.name)).toEqual(
      expect.arrayContaining(['kilnlxd/edge', 'kilnlxd/1', 'kilnlxd/1/default', 'kilnlxd/1/amd64']),
    );
    expect(squash.properties).toMatchObject({ os: 'Kilnlxd', release: '1', variant: 'default', serial: record.serial });
  });

  it("shows the image behind an alias with kiln's squashfs fingerprint (lxc image info T:alias)", async () => {
    const { stdout } = await lxd('image', 'info', 'T:kilnlxd/1');
    expect(stdout).toContain(`Fingerprint: ${record.fingerprints.combined_squashfs_sha256}`);
    expect(stdout).toMatch(/serial: 20260301_07:43/);
  });
});
