import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { kiln, ROOT } from '../helpers/kiln.js';
import { latestReport } from '../helpers/catalog-report.js';
import { cgroupTree, kilnTempDirs, mountPoints } from '../helpers/host-state.js';
import { catalogJsonSchemaText } from '../../src/catalog/json-schema.js';
import { expandCatalog, matchesOnly } from '../../src/catalog/matrix.js';
import { loadCatalog } from '../../src/catalog/load.js';
import { DefinitionError } from '../../src/util/errors.js';
import { startServer } from '../../src/serve/index.js';
import https from 'node:https';

function fetchText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: readFileSync(ca) }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const BUSYBOX = readFileSync(path.join(ROOT, 'definitions/busybox.yaml'), 'utf8');

/** A busybox definition under another distribution name, with extra YAML spliced in. */
function variantOf(distribution: string, extra: { actions?: string; packages?: string } = {}): string {
  let y = BUSYBOX.replace('distribution: busybox', `distribution: ${distribution}`);
  if (extra.actions) y = y.replace('\nactions:\n', `\nactions:\n${extra.actions}`);
  if (extra.packages) y = y.replace('\npackages:\n', `\npackages:\n${extra.packages}`);
  return y;
}

function indexLines(out: string): string[] {
  return readFileSync(path.join(out, 'meta/1.0/index-system'), 'utf8').split('\n').filter(Boolean);
}

function serialOf(out: string, dist: string): string | undefined {
  return indexLines(out)
    .find((l) => l.startsWith(`${dist};`))
    ?.split(';')[4];
}

describe('catalog files', () => {
  it('expand into every release x architecture x variant, and --only selects cells', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-cat-'));
    try {
      await writeFile(path.join(dir, 'd.yaml'), variantOf('tiny'));
      await writeFile(
        path.join(dir, 'kiln.yaml'),
        'images:\n- definition: d.yaml\n  releases: ["1", "2"]\n  architectures: [amd64, arm64]\n  variants: [default, cloud]\n  release_options:\n    "2": {image.expiry: 2d}\n',
      );
      const catalog = await loadCatalog(path.join(dir, 'kiln.yaml'));
      const all = expandCatalog(catalog);
      expect(all.map((c) => c.id)).toHaveLength(8);
      expect(all[0]?.id).toBe('tiny:1:amd64:default');
      expect(all.find((c) => c.id === 'tiny:2:arm64:cloud')?.overrides).toContain('image.expiry=2d');
      expect(expandCatalog(catalog, 'tiny:2:*:cloud').map((c) => c.id)).toEqual([
        'tiny:2:amd64:cloud',
        'tiny:2:arm64:cloud',
      ]);
      expect(matchesOnly('debian:bookworm:amd64:default', 'debian')).toBe(true);
      expect(matchesOnly('debian:bookworm:amd64:default', 'debian:trixie')).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('report mistakes with file, line and column', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-cat-'));
    try {
      const file = path.join(dir, 'kiln.yaml');
      await writeFile(file, 'images:\n- definition: d.yaml\n  variant: [default]\n  formats: [lxd]\n');
      const err = await loadCatalog(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DefinitionError);
      const text = (err as Error).message;
      expect(text).toContain(`${file}:3:3: images[0].variant: unknown key 'variant'`);
      expect(text).toContain('variants');
      expect(text).toContain(`${file}:4:13: images[0].formats[0]:`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ship a JSON Schema generated from the same schema data as the loader', () => {
    expect(readFileSync(path.join(ROOT, 'schema/catalog.schema.json'), 'utf8')).toBe(catalogJsonSchemaText());
  });
});

describe('kiln build --catalog', () => {
  let tmp: string;
  let out: string;
  let cat: string;
  const defs = (name: string): string => path.join(tmp, `${name}.yaml`);
  const run = (serial: string, extra: string[] = []) =>
    kiln([
      'build',
      '--catalog',
      cat,
      '--out',
      out,
      '--jobs',
      '2',
      '--serial',
      serial,
      '--cache-dir',
      path.join(tmp, 'cache'),
      '--work-dir',
      path.join(tmp, 'work'),
      ...extra,
    ]);

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-catalog-'));
    out = path.join(tmp, 'out');
    cat = path.join(tmp, 'kiln.yaml');
    for (const d of ['alpha', 'beta', 'gamma']) await writeFile(defs(d), variantOf(d));
    await writeFile(
      cat,
      'keep: 3\nimages:\n- definition: alpha.yaml\n- definition: beta.yaml\n- definition: gamma.yaml\n',
    );
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('builds, boot-tests with the real LXC client and publishes every image, with a report', async () => {
    const r = await run('20260101_00:00', ['--test']);
    expect(r.exitCode, r.all).toBe(0);
    expect(
      indexLines(out)
        .map((l) => l.split(';').slice(0, 5).join(';'))
        .sort(),
    ).toEqual([
      'alpha;1.35;amd64;default;20260101_00:00',
      'beta;1.35;amd64;default;20260101_00:00',
      'gamma;1.35;amd64;default;20260101_00:00',
    ]);
    const rep = await latestReport(out);
    expect(rep.builds.map((b) => b.status)).toEqual(['published', 'published', 'published']);
    const logText = await readFile(path.join(out, 'reports/20260101_0000', rep.builds[0]!.log), 'utf8');
    expect(logText).toContain('lxc-attach');
    expect(readFileSync(path.join(out, 'reports/20260101_0000/report.html'), 'utf8')).toContain(
      'alpha:1.35:amd64:default',
    );
    // The web catalog links the newest report.
    const server = await startServer({ tree: out, listen: { host: '127.0.0.1', port: 0 } });
    try {
      const page = await fetchText(`https://127.0.0.1:${server.httpsPort}/`, server.caPath as string);
      expect(page).toContain('href="/reports/20260101_0000/report.html"');
      expect(
        await fetchText(
          `https://127.0.0.1:${server.httpsPort}/reports/20260101_0000/report.html`,
          server.caPath as string,
        ),
      ).toContain('gamma:1.35:amd64:default');
    } finally {
      await server.close();
    }
  });

  it('skips every build when nothing changed: no new serials', async () => {
    const r = await run('20260101_00:01', ['--test']);
    expect(r.exitCode, r.all).toBe(0);
    expect((await latestReport(out)).builds.map((b) => b.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(existsSync(path.join(out, 'images/alpha/1.35/amd64/default/20260101_00:01'))).toBe(false);
    expect(serialOf(out, 'alpha')).toBe('20260101_00:00');
  });

  it('kiln plan --matrix lists every cell with its input digest, whether it would be skipped, and the command to shard it', async () => {
    const r = await kiln(['plan', '--catalog', cat, '--matrix', '--json', '--out', out]);
    expect(r.exitCode, r.all).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{
      id: string;
      inputDigest: string;
      wouldSkip: boolean;
      published: string;
      command: string;
    }>;
    expect(rows.map((x) => [x.id, x.wouldSkip, x.published])).toEqual([
      ['alpha:1.35:amd64:default', true, '20260101_00:00'],
      ['beta:1.35:amd64:default', true, '20260101_00:00'],
      ['gamma:1.35:amd64:default', true, '20260101_00:00'],
    ]);
    const published = JSON.parse(
      await readFile(path.join(out, 'images/alpha/1.35/amd64/default/20260101_00:00/build.json'), 'utf8'),
    ) as { inputDigest: string };
    expect(rows[0]?.inputDigest).toBe(published.inputDigest);
    expect(rows[0]?.command).toBe(`kiln build --catalog kiln.yaml --only alpha:1.35:amd64:default --out out`);
  });

  it('rebuilds only the products of the definition whose package list changed, and says why', async () => {
    await writeFile(
      defs('beta'),
      variantOf('beta', { packages: '  sets:\n  - packages: [hello]\n    action: install\n' }),
    );
    const planned = await kiln(['plan', '--catalog', cat, '--matrix', '--out', out]);
    expect(planned.stdout).toMatch(
      /^beta:1\.35:amd64:default +[0-9a-f]{12} build\n +because: the definition, its options or the plan changed$/m,
    );
    const r = await run('20260101_00:02');
    expect(r.exitCode, r.all).toBe(0);
    expect((await latestReport(out)).builds.map((b) => `${b.id.split(':')[0]} ${b.status}`)).toEqual([
      'alpha unchanged',
      'beta published',
      'gamma unchanged',
    ]);
    expect((await latestReport(out)).builds.find((b) => b.id.startsWith('beta'))?.changes).toEqual([
      'the definition, its options or the plan changed',
    ]);
    expect(serialOf(out, 'beta')).toBe('20260101_00:02');
    expect(serialOf(out, 'alpha')).toBe('20260101_00:00');
  });

  it('quarantines an image whose action breaks boot; the index keeps its previous good build', async () => {
    await writeFile(
      defs('gamma'),
      variantOf('gamma', { actions: '- trigger: post-files\n  action: |-\n    #!/bin/sh\n    rm /sbin/init\n' }),
    );
    const r = await run('20260101_00:03', ['--test', '--test-timeout', '20']);
    expect(r.exitCode).toBe(1);
    const gamma = (await latestReport(out)).builds.find((b) => b.id.startsWith('gamma'));
    expect(gamma?.status).toBe('quarantined');
    expect(serialOf(out, 'gamma')).toBe('20260101_00:00');
    expect(existsSync(path.join(out, 'images/gamma/1.35/amd64/default/20260101_00:03'))).toBe(false);
    expect(existsSync(path.join(out, '.kiln/quarantine/gamma_1.35_amd64_default/20260101_0003/rootfs.tar.xz'))).toBe(
      true,
    );
    expect(existsSync(path.join(out, '.kiln/quarantine/gamma_1.35_amd64_default/20260101_0003/build.log'))).toBe(true);
  });

  it('a build killed halfway leaves the others published and no mount, cgroup or temp dir', async () => {
    // gamma goes back to the definition of its published build: nothing to do.
    await writeFile(defs('gamma'), variantOf('gamma'));
    await writeFile(
      defs('alpha'),
      variantOf('alpha', {
        actions:
          '- trigger: post-packages\n  action: |-\n    #!/bin/sh\n    echo "package manager running"\n    kill -KILL $$\n',
      }),
    );
    await writeFile(
      defs('beta'),
      variantOf('beta', { packages: '  sets:\n  - packages: [hello, world]\n    action: install\n' }),
    );
    const mountsBefore = mountPoints();
    const cgroupsBefore = cgroupTree();
    const r = await run('20260101_00:04');
    expect(r.exitCode).toBe(1);
    const statuses = Object.fromEntries((await latestReport(out)).builds.map((b) => [b.id.split(':')[0], b.status]));
    expect(statuses).toEqual({ alpha: 'failed', beta: 'published', gamma: 'unchanged' });
    expect(serialOf(out, 'beta')).toBe('20260101_00:04');
    expect(serialOf(out, 'alpha')).toBe('20260101_00:00');
    expect(mountPoints()).toEqual(mountsBefore);
    expect(cgroupTree()).toEqual(cgroupsBefore);
    expect(kilnTempDirs(path.join(tmp, 'work'))).toEqual([]);
    const alphaLog = (await latestReport(out)).builds.find((b) => b.id.startsWith('alpha'));
    expect(alphaLog?.reason).toContain('post-packages');
    expect(await readFile(path.join(out, 'reports/20260101_0004', alphaLog!.log), 'utf8')).toContain(
      'package manager running',
    );
  });

  it('keeps as many builds of each product as its catalog entry says', async () => {
    await writeFile(
      cat,
      'keep: 3\nimages:\n- definition: alpha.yaml\n- definition: beta.yaml\n  keep: 1\n- definition: gamma.yaml\n',
    );
    await writeFile(
      defs('beta'),
      variantOf('beta', { packages: '  sets:\n  - packages: [hello, again]\n    action: install\n' }),
    );
    const r = await run('20260101_00:05');
    const versions = (product: string): string[] => {
      const streams = JSON.parse(readFileSync(path.join(out, 'streams/v1/images.json'), 'utf8')) as {
        products: Record<string, { versions: Record<string, unknown> }>;
      };
      return Object.keys(streams.products[product]?.versions ?? {}).sort();
    };
    // beta had three builds (00:00, 00:02, 00:04); with keep 1 only the new one stays listed.
    expect(versions('beta:1.35:amd64:default')).toEqual(['20260101_00:05']);
    expect(serialOf(out, 'beta')).toBe('20260101_00:05');
    // The pruned builds' files stay for the grace period.
    expect(existsSync(path.join(out, 'images/beta/1.35/amd64/default/20260101_00:02/rootfs.tar.xz'))).toBe(true);
    expect(r.exitCode).toBe(1); // alpha still fails
  });
});

describe('a catalog entry names its releases and requirements for Incus/LXD clients', () => {
  let tmp: string;
  let out: string;
  let cat: string;
  const run = (serial: string) =>
    kiln([
      'build',
      '--catalog',
      cat,
      '--out',
      out,
      '--serial',
      serial,
      '--cache-dir',
      path.join(tmp, 'cache'),
      '--work-dir',
      path.join(tmp, 'work'),
    ]);
  const product = async (): Promise<{
    aliases: string;
    os: string;
    requirements: Record<string, string>;
    versions: Record<string, unknown>;
  }> => {
    const images = JSON.parse(await readFile(path.join(out, 'streams/v1/images.json'), 'utf8')) as {
      products: Record<string, never>;
    };
    return images.products['delta:1.35:amd64:default']!;
  };
  const catalogWith = (requirements: string) =>
    writeFile(
      cat,
      `images:\n- definition: delta.yaml\n  release_aliases:\n    "1.35": ["1", stable]\n  requirements:\n${requirements}`,
    );

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-catalog-aliases-'));
    out = path.join(tmp, 'out');
    cat = path.join(tmp, 'kiln.yaml');
    await writeFile(path.join(tmp, 'delta.yaml'), variantOf('delta'));
    await catalogWith('    secureboot: "false"\n    cgroup: v2\n');
    const r = await run('20260101_00:00');
    expect(r.exitCode, r.all).toBe(0);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('publishes release aliases (`delta/1`, `delta/stable/default`) and requirements in the simplestreams product', async () => {
    const p = await product();
    expect(p.aliases.split(',').sort()).toEqual([
      'delta/1',
      'delta/1.35',
      'delta/1.35/default',
      'delta/1/default',
      'delta/stable',
      'delta/stable/default',
    ]);
    expect(p.requirements).toEqual({ cgroup: 'v2', secureboot: 'false' });
    // lxc-ci's os: the distribution title-cased.
    expect(p.os).toBe('Delta');
  });

  it("the real LXD client resolves the release aliases to kiln's image", async () => {
    const server = await startServer({ tree: out, listen: { host: '127.0.0.1', port: 0 } });
    try {
      await mkdir(path.join(tmp, 'lxdconf'));
      const env = { ...process.env, LXD_CONF: path.join(tmp, 'lxdconf'), SSL_CERT_FILE: server.caPath!, HOME: tmp };
      const lxd = (...args: string[]) => execa('lxc', args, { env });
      await lxd('remote', 'add', 'K', `https://127.0.0.1:${server.httpsPort}`, '--protocol=simplestreams', '--public');
      const record = JSON.parse(
        await readFile(path.join(out, 'images/delta/1.35/amd64/default/20260101_00:00/build.json'), 'utf8'),
      ) as { fingerprints: { combined_squashfs_sha256: string } };
      const info = (await lxd('image', 'info', 'K:delta/1')).stdout;
      expect(info).toContain(`Fingerprint: ${record.fingerprints.combined_squashfs_sha256}`);
      expect(info).toMatch(/Aliases:\n( {4}- .*\n)* {4}- delta\/stable\/default\n/);
      expect(info).toContain('os: Delta');
    } finally {
      await server.close();
    }
  });

  it('a changed requirement republishes the product (it is part of the input digest)', async () => {
    await catalogWith('    secureboot: "false"\n');
    expect((await run('20260101_00:01')).exitCode).toBe(0);
    expect((await latestReport(out)).builds.map((b) => [b.status, b.changes])).toEqual([
      ['published', ['the output options or the published names changed']],
    ]);
    expect((await product()).requirements).toEqual({ secureboot: 'false' });
    expect((await run('20260101_00:02')).exitCode).toBe(0);
    expect((await latestReport(out)).builds.map((b) => b.status)).toEqual(['unchanged']);
  });

  it('kiln build of one definition takes the same as flags: --release-alias, --requirement', async () => {
    const single = path.join(tmp, 'single');
    const r = await kiln([
      'build',
      path.join(tmp, 'delta.yaml'),
      '--out',
      single,
      '--serial',
      '20260101_00:00',
      '--release-alias',
      '1',
      '--requirement',
      'secureboot=false',
      '--cache-dir',
      path.join(tmp, 'cache'),
      '--work-dir',
      path.join(tmp, 'work'),
    ]);
    expect(r.exitCode, r.all).toBe(0);
    const images = JSON.parse(await readFile(path.join(single, 'streams/v1/images.json'), 'utf8')) as {
      products: Record<string, { aliases: string; requirements: Record<string, string> }>;
    };
    const p = images.products['delta:1.35:amd64:default']!;
    expect(p.aliases.split(',')).toEqual(expect.arrayContaining(['delta/1', 'delta/1/default']));
    expect(p.requirements).toEqual({ secureboot: 'false' });
    const bad = await kiln(['build', path.join(tmp, 'delta.yaml'), '--out', single, '--requirement', 'secureboot']);
    expect(bad.exitCode).toBe(2);
    expect(bad.all).toContain("--requirement: 'secureboot' is not KEY=VALUE (e.g. secureboot=false)");
    expect(bad.all).not.toMatch(/\n\s+at /);
  });

  it('rejects an alias that cannot be a name, with its position', async () => {
    await writeFile(cat, 'images:\n- definition: delta.yaml\n  release_aliases:\n    "1.35": ["a/b"]\n');
    const r = await kiln(['plan', '--catalog', cat, '--matrix']);
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/kiln\.yaml:4:\d+: .*a name like 12 or 24\.04/);
  });
});
