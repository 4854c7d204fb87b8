import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { publishBuild } from '../publish/index.js';
import { startServer } from '../serve/index.js';
import { downloadTemplateArgs } from '../serve/client-commands.js';
import type { BuildRecord } from '../pipeline/record.js';
import type { EventSink } from '../util/events.js';

export interface BootTestOptions {
  /** Artifacts, SHA256SUMS and build.json of the build to test. */
  stagingDir: string;
  record: BuildRecord;
  /** Private scratch directory: the staging server's tree, containers, cache. */
  workDir: string;
  /** Seconds for the container to reach RUNNING and answer lxc-attach. */
  timeoutSeconds: number;
  sink: EventSink;
  /** Appended to the build's log. */
  log: (line: string) => void;
}

export interface BootTestResult {
  ok: boolean;
  reason?: string;
  /** Where the tested build now lives (inside the staging tree). */
  buildDir: string;
}

/**
 * The LXC config for test containers on this host: no bridge unless lxcbr0
 * exists, no AppArmor profile unless AppArmor is enabled.
 */
export function testContainerConfig(): string {
  const lines = ['# written by kiln for boot tests'];
  if (!existsSync('/sys/class/net/lxcbr0')) lines.push('lxc.net.0.type = empty');
  if (!existsSync('/sys/kernel/security/apparmor')) lines.push('lxc.apparmor.profile = unconfined');
  return `${lines.join('\n')}\n`;
}

/**
 * The gate before publishing: the build is published into a private staging
 * tree, served on loopback, installed with the real `lxc-create -t download`,
 * started with `lxc-start`, and must reach RUNNING and answer
 * `lxc-attach -- true` in time. The container, its cache and the server are
 * removed afterwards whatever happened.
 */
export async function bootTest(opts: BootTestOptions): Promise<BootTestResult> {
  const tree = path.join(opts.workDir, 'staging-tree');
  const lxcPath = path.join(opts.workDir, 'containers');
  const env = { WGETRC: '', LXC_CACHE_PATH: path.join(opts.workDir, 'lxc-cache') };
  const conf = path.join(opts.workDir, 'ct.conf');
  const name = `kiln-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const p = opts.record.product;
  const { dir } = await publishBuild({ tree, stagingDir: opts.stagingDir, record: opts.record });
  const server = await startServer({ tree, listen: { host: '127.0.0.1', port: 0 } });
  const run = async (cmd: string, args: string[], timeoutMs: number) => {
    const r = await execa(cmd, args, { env, reject: false, all: true, timeout: timeoutMs });
    opts.log(`$ ${cmd} ${args.join(' ')}\n${r.all ?? ''}\n[exit ${r.exitCode ?? r.signal}]`);
    return r;
  };
  try {
    await mkdir(lxcPath, { recursive: true });
    await mkdir(env.LXC_CACHE_PATH, { recursive: true });
    env.WGETRC = server.wgetrcPath ?? '';
    await writeFile(conf, testContainerConfig());
    const created = await run(
      'lxc-create',
      ['-P', lxcPath, '-n', name, '-f', conf, ...downloadTemplateArgs(`127.0.0.1:${server.httpsPort}`, p)],
      600_000,
    );
    if (created.exitCode !== 0)
      return { ok: false, reason: `lxc-create failed (exit ${created.exitCode})`, buildDir: dir };
    const started = await run(
      'lxc-start',
      ['-P', lxcPath, '-n', name, '-d', '-l', 'INFO', '-o', path.join(opts.workDir, 'lxc-start.log')],
      120_000,
    );
    if (started.exitCode !== 0)
      return { ok: false, reason: `lxc-start failed (exit ${started.exitCode})`, buildDir: dir };
    const deadline = Date.now() + opts.timeoutSeconds * 1000;
    const running = await run(
      'lxc-wait',
      ['-P', lxcPath, '-n', name, '-s', 'RUNNING', '-t', String(opts.timeoutSeconds)],
      opts.timeoutSeconds * 1000 + 10_000,
    );
    if (running.exitCode !== 0)
      return { ok: false, reason: `container did not reach RUNNING within ${opts.timeoutSeconds}s`, buildDir: dir };
    for (;;) {
      // lxc-attach needs the container's init to be alive; a broken init dies right after starting.
      const state = await run('lxc-info', ['-P', lxcPath, '-n', name, '-s', '-H'], 30_000);
      if (!state.stdout.includes('RUNNING'))
        return { ok: false, reason: `container stopped after starting (${state.stdout.trim()})`, buildDir: dir };
      const attached = await run('lxc-attach', ['-P', lxcPath, '-n', name, '--', 'true'], 30_000);
      if (attached.exitCode === 0) return { ok: true, buildDir: dir };
      if (Date.now() > deadline)
        return {
          ok: false,
          reason: `lxc-attach -- true did not succeed within ${opts.timeoutSeconds}s`,
          buildDir: dir,
        };
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await run('lxc-stop', ['-P', lxcPath, '-n', name, '-k'], 60_000).catch(() => undefined);
    await run('lxc-destroy', ['-P', lxcPath, '-n', name, '-f'], 120_000).catch(() => undefined);
    await server.close();
    await rm(lxcPath, { recursive: true, force: true });
    await rm(env.LXC_CACHE_PATH, { recursive: true, force: true });
  }
}
