/**
 * A nightly catalog through a real Buildbot: contrib/buildbot/master.cfg on a
 * master started with `buildbot create-master` / `buildbot start`, two
 * workers each in its own work directory and its own network namespace (a
 * host of its own on the network, reaching the master over a veth pair as
 * a remote worker would), runs started with `buildbot
 * sendchange`. The run plans against the tree `kiln serve` serves, builds
 * one bundle per cell on the workers, publishes them once on the master; the
 * tree installs with the real `lxc-create -t download` and lists in the real
 * LXD client. A second run with nothing changed builds nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KILN_BIN, ROOT } from '../helpers/kiln.js';
import { freePort, serveTree, type ServedTree } from '../helpers/serve.js';
import { LxcClient } from '../helpers/lxc-client.js';
import { mountPoints } from '../helpers/host-state.js';

const BUSYBOX = readFileSync(path.join(ROOT, 'definitions/busybox.yaml'), 'utf8');
const CELLS = ['busybox', 'alpha', 'beta', 'gamma'];

interface BuildRow {
  id: number;
  builder: string;
  worker: string | null;
  results: number | null;
  complete: boolean;
}

/** A network namespace with a veth pair to the host: the worker's own network. */
interface WorkerNet {
  netns: string;
  hostIf: string;
  hostAddr: string;
}

async function makeWorkerNet(i: number): Promise<WorkerNet> {
  const tag = `${process.pid % 100000}${i}`;
  const net = { netns: `kiln-bb-${tag}`, hostIf: `kbb${tag}h`, hostAddr: `10.213.${i}.1` };
  const ip = (...args: string[]) => execa('ip', args);
  const inNs = (...args: string[]) => execa('ip', ['netns', 'exec', net.netns, 'ip', ...args]);
  await ip('netns', 'add', net.netns);
  await ip('link', 'add', net.hostIf, 'type', 'veth', 'peer', 'name', `kbb${tag}w`);
  await ip('link', 'set', `kbb${tag}w`, 'netns', net.netns);
  await ip('addr', 'add', `${net.hostAddr}/30`, 'dev', net.hostIf);
  await ip('link', 'set', net.hostIf, 'up');
  await inNs('addr', 'add', `10.213.${i}.2/30`, 'dev', `kbb${tag}w`);
  await inNs('link', 'set', `kbb${tag}w`, 'up');
  await inNs('link', 'set', 'lo', 'up');
  return net;
}

describe('the busybox catalog through Buildbot with two workers', () => {
  let tmp: string;
  const nets: WorkerNet[] = [];
  let master: string;
  let workers: string[];
  let served: ServedTree;
  let pbPort: number;

  /** Builds as the master's database has them (Debian packages no web UI, so no REST API). */
  const builds = async (): Promise<BuildRow[]> => {
    const script = [
      'import json, sqlite3, sys',
      'db = sqlite3.connect(sys.argv[1])',
      'rows = db.execute("select b.id, bl.name, w.name, b.results, b.complete_at from builds b join builders bl on bl.id = b.builderid left join workers w on w.id = b.workerid order by b.id").fetchall()',
      'print(json.dumps([{"id": r[0], "builder": r[1], "worker": r[2], "results": r[3], "complete": r[4] is not None} for r in rows]))',
    ].join('\n');
    const r = await execa('python3', ['-c', script, path.join(master, 'state.sqlite')]);
    return JSON.parse(r.stdout) as BuildRow[];
  };
  const connectedWorkers = async (): Promise<number> => {
    const r = await execa('python3', [
      '-c',
      'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from connected_workers").fetchone()[0])',
      path.join(master, 'state.sqlite'),
    ]);
    return Number(r.stdout);
  };
  const waitUntil = async (what: string, ms: number, ok: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  /** Starts a nightly run by hand and waits for it; returns the builds it made. */
  const nightly = async (comment: string): Promise<BuildRow[]> => {
    const before = (await builds()).length;
    await execa('buildbot', [
      'sendchange',
      '--master',
      `127.0.0.1:${pbPort}`,
      '--auth',
      'kiln:test-change',
      '--branch',
      'nightly',
      '--who',
      'kiln-test',
      '-c',
      comment,
      'nightly',
    ]);
    let mine: BuildRow[] = [];
    await waitUntil('the nightly build', 300_000, async () => {
      mine = (await builds()).slice(before);
      return mine.some((b) => b.builder === 'nightly' && b.complete);
    });
    return mine;
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-buildbot-'));
    for (const d of CELLS)
      await writeFile(path.join(tmp, `${d}.yaml`), BUSYBOX.replace('distribution: busybox', `distribution: ${d}`));
    await writeFile(
      path.join(tmp, 'kiln.yaml'),
      `keep: 2\nimages:\n${CELLS.map((d) => `- definition: ${d}.yaml\n`).join('')}`,
    );
    const tree = path.join(tmp, 'tree');
    await mkdir(tree);
    served = await serveTree(tree);
    pbPort = await freePort();
    master = path.join(tmp, 'master');
    await execa('buildbot', ['create-master', '-r', master]);
    await copyFile(path.join(ROOT, 'contrib/buildbot/master.cfg'), path.join(master, 'master.cfg'));
    workers = ['w1', 'w2'].map((w) => path.join(tmp, w));
    await writeFile(
      path.join(master, 'kiln-buildbot.json'),
      JSON.stringify({
        kiln: ['node', KILN_BIN],
        catalog: path.join(tmp, 'kiln.yaml'),
        tree,
        against: `https://${served.server}/`,
        ca: served.ca,
        pb_port: pbPort,
        workers: ['w1', 'w2'].map((name) => ({ name, password: `pw-${name}`, arch: ['amd64'] })),
        change: { user: 'kiln', password: 'test-change' },
        cell_flags: ['--cache-dir', path.join(tmp, 'cache')],
      }),
    );
    const check = await execa('buildbot', ['checkconfig', master], { reject: false, all: true });
    expect(check.exitCode, check.all).toBe(0);
    const started = await execa('buildbot', ['start', master], { reject: false, all: true });
    expect(started.exitCode, started.all).toBe(0);
    for (const [i, dir] of workers.entries()) {
      const name = `w${i + 1}`;
      const net = await makeWorkerNet(i + 1);
      nets.push(net);
      await execa('buildbot-worker', ['create-worker', '-r', dir, `${net.hostAddr}:${pbPort}`, name, `pw-${name}`]);
      // nsenter, not `ip netns exec`: that one also mounts a new /sys, which hides the cgroup hierarchies.
      const w = await execa('nsenter', [`--net=/run/netns/${net.netns}`, 'buildbot-worker', 'start', dir], {
        reject: false,
        all: true,
      });
      expect(w.exitCode, w.all).toBe(0);
    }
    await waitUntil('both workers to connect', 60_000, async () => (await connectedWorkers()) >= 2);
  }, 300_000);

  afterAll(async () => {
    // Stop what this test started, by the pid files buildbot wrote, whatever happened.
    for (const dir of [...(workers ?? []), master].filter(Boolean)) {
      const pidFile = path.join(dir, 'twistd.pid');
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      await execa(dir === master ? 'buildbot' : 'buildbot-worker', ['stop', dir], { reject: false, timeout: 30_000 });
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* stopped, as it should be */
      }
    }
    await served?.stop();
    // Deleting a namespace deletes its end of the veth pair, and so the pair.
    for (const net of nets) await execa('ip', ['netns', 'del', net.netns], { reject: false });
    await rm(tmp, { recursive: true, force: true });
  });

  it('builds every cell on the workers, publishes once, and the tree installs with lxc-create and lists in LXD', async () => {
    const run = await nightly('first night');
    const cells = run.filter((b) => b.builder === 'cell-amd64');
    expect(cells).toHaveLength(4);
    expect(run.map((b) => b.results)).toEqual(run.map(() => 0));
    // Both workers took cells; the nightly build itself ran inside the master.
    expect(new Set(cells.map((b) => b.worker))).toEqual(new Set(['w1', 'w2']));
    expect(run.find((b) => b.builder === 'nightly')?.worker).toBe('kiln-planner');
    // Each worker built in its own work directory, from its own network namespace.
    for (const w of workers) expect(existsSync(path.join(w, 'cell-amd64'))).toBe(true);
    for (const [i, net] of nets.entries()) {
      const pid = readFileSync(path.join(workers[i]!, 'twistd.pid'), 'utf8').trim();
      const ns = (await execa('ip', ['netns', 'identify', pid])).stdout.trim();
      expect(ns).toBe(net.netns);
    }

    const tree = path.join(tmp, 'tree');
    const index = (await readFile(path.join(tree, 'meta/1.0/index-system'), 'utf8')).trim().split('\n');
    expect(index.map((l) => l.split(';')[0]).sort()).toEqual([...CELLS].sort());
    // One serial for the whole run.
    expect(new Set(index.map((l) => l.split(';')[4])).size).toBe(1);

    const client = await LxcClient.create(path.join(tmp, 'lxc'), served.ca);
    const name = 'kiln-bb-alpha';
    try {
      const created = await client.createFromServer(name, served.server, 'alpha', '1.35', 'amd64');
      expect(created.exitCode, created.all).toBe(0);
      expect(existsSync(path.join(client.rootfs(name), 'bin/busybox'))).toBe(true);
    } finally {
      await client.destroy(name);
    }

    await mkdir(path.join(tmp, 'lxdconf'));
    const env = { ...process.env, LXD_CONF: path.join(tmp, 'lxdconf'), SSL_CERT_FILE: served.ca, HOME: tmp };
    const lxd = (...args: string[]) => execa('/usr/bin/lxc', args, { env, timeout: 60_000, reject: false, all: true });
    const added = await lxd('remote', 'add', 'B', `https://${served.server}`, '--protocol=simplestreams', '--public');
    expect(added.exitCode, added.all).toBe(0);
    const listed = await lxd('image', 'list', 'B:', '--format', 'json');
    expect(listed.exitCode, listed.all).toBe(0);
    const images = JSON.parse(listed.stdout) as { properties: Record<string, string> }[];
    expect([...new Set(images.map((i) => i.properties.os))].sort()).toEqual(['Alpha', 'Beta', 'Busybox', 'Gamma']);
  });

  it('a second night with nothing changed builds nothing: every cell is skipped against the served tree', async () => {
    const tree = path.join(tmp, 'tree');
    const before = await readFile(path.join(tree, 'meta/1.0/index-system'), 'utf8');
    const run = await nightly('second night');
    expect(run.map((b) => b.builder)).toEqual(['nightly']);
    expect(run[0]?.results).toBe(0);
    expect(await readFile(path.join(tree, 'meta/1.0/index-system'), 'utf8')).toBe(before);
    for (const d of CELLS)
      expect((await execa('ls', [path.join(tree, `images/${d}/1.35/amd64/default`)])).stdout.split('\n')).toHaveLength(
        1,
      );
  });
  it('a worker killed mid-cell loses only that build: Buildbot retries the cell on the other worker and the tree is complete', async () => {
    // A new cell that takes a while, so there is time to kill its worker inside the build container.
    await writeFile(
      path.join(tmp, 'delta.yaml'),
      BUSYBOX.replace('distribution: busybox', 'distribution: delta').replace(
        '\nactions:\n',
        '\nactions:\n- trigger: post-unpack\n  action: |-\n    #!/bin/sh\n    sleep 12\n',
      ),
    );
    await writeFile(
      path.join(tmp, 'kiln.yaml'),
      `keep: 2\nimages:\n${[...CELLS, 'delta'].map((d) => `- definition: ${d}.yaml\n`).join('')}`,
    );
    const before = (await builds()).length;
    const run = nightly('third night');
    let victim: BuildRow | undefined;
    await waitUntil('the delta cell to start', 120_000, async () => {
      victim = (await builds()).slice(before).find((b) => b.builder === 'cell-amd64' && !b.complete && b.worker);
      return victim !== undefined;
    });
    // Inside the build by now (the busybox source takes about a second).
    await new Promise((r) => setTimeout(r, 4000));
    const dir = workers[Number(victim!.worker!.slice(1)) - 1]!;
    const pid = Number(readFileSync(path.join(dir, 'twistd.pid'), 'utf8').trim());
    // The machine dies: the worker and everything it started, at once.
    const tree = (await execa('ps', ['-eo', 'pid=,ppid='])).stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
    const doomed = new Set([pid]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [p, pp] of tree)
        if (doomed.has(pp) && !doomed.has(p)) {
          doomed.add(p);
          grew = true;
        }
    }
    for (const p of doomed) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    const made = await run;
    const cells = made.filter((b) => b.builder === 'cell-amd64');
    // RETRY (5) for the killed build, SUCCESS for its retry on the other worker.
    expect(cells.map((b) => b.results)).toEqual([5, 0]);
    expect(cells[1]?.worker).not.toBe(victim!.worker);
    expect(made.find((b) => b.builder === 'nightly')?.results).toBe(0);
    const index = await readFile(path.join(tmp, 'tree/meta/1.0/index-system'), 'utf8');
    expect(index).toMatch(/^delta;1\.35;amd64;default;/m);
    expect(index.trim().split('\n')).toHaveLength(5);

    // The killed worker left its cell's work dir; the next kiln on that machine sweeps it.
    const workParent = path.join(dir, 'cell-amd64/work');
    const left = (await execa('ls', ['-A', workParent])).stdout.split('\n').filter(Boolean);
    expect(left.filter((n) => n.startsWith('kiln-'))).not.toEqual([]);
    const next = await execa(
      'node',
      [
        KILN_BIN,
        'build',
        '--catalog',
        path.join(tmp, 'kiln.yaml'),
        '--only',
        'alpha',
        '--bundle',
        path.join(tmp, 'next.tar'),
        '--work-dir',
        workParent,
      ],
      { reject: false, all: true },
    );
    expect(next.exitCode, next.all).toBe(0);
    expect(next.all).toMatch(/removed the work dir of a run that died/);
    expect((await execa('ls', ['-A', workParent])).stdout.split('\n').filter((n) => n.startsWith('kiln-'))).toEqual([]);
    expect(mountPoints().filter((m) => m.startsWith(dir))).toEqual([]);
  });
});
