import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unpackAndVerify } from '../publish/bundle.js';
import { bootTestRefusal } from '../runtime/host-binfmt.js';
import { isKilnError } from '../util/errors.js';
import { log, type EventSink } from '../util/events.js';
import { makeOwnedWorkDir } from '../util/work-dir.js';
import { bootTest } from './boot-test.js';
import { quarantineBuild } from './quarantine.js';

export interface TestBundleOptions {
  bundle: string;
  /** Where the private work directory is made (the system's temp dir by default). */
  workParent: string;
  timeoutSeconds: number;
  /** Quarantine root: a failing build is kept at `<quarantine>/<cell>/<serial>/`. */
  quarantine: string;
  sink: EventSink;
}

export type TestBundleResult =
  | { bundle: string; status: 'passed'; cell: string; serial: string }
  | { bundle: string; status: 'quarantined'; cell: string; serial: string; reason: string; quarantine: string }
  | { bundle: string; status: 'refused'; reason: string };

/**
 * `kiln test BUNDLE`: the catalog's boot-test gate on a worker, before the
 * bundle is handed on. The bundle is verified as `kiln publish` would, then
 * served from a private staging tree, installed with the real
 * `lxc-create -t download`, started and attached to; a build that does not
 * boot is quarantined as a catalog run does. Nothing outside the work
 * directory and the quarantine is written, and the work directory goes.
 */
export async function testBundle(opts: TestBundleOptions): Promise<TestBundleResult> {
  const bundle = opts.bundle;
  await mkdir(opts.workParent, { recursive: true });
  const work = await makeOwnedWorkDir(opts.workParent, 'kiln-test-');
  // The gate's log is kept only with a quarantined build: written then, in one go.
  const lines: string[] = [];
  try {
    const content = path.join(work, 'content');
    await mkdir(content);
    let verified;
    try {
      verified = await unpackAndVerify(path.resolve(bundle), content, opts.sink);
    } catch (e) {
      return { bundle, status: 'refused', reason: isKilnError(e) ? e.message : String(e) };
    }
    const { manifest, record } = verified;
    const refusal = await bootTestRefusal(record.product.arch);
    if (refusal) return { bundle, status: 'refused', reason: refusal };
    if (!record.artifacts.some((a) => a.name === 'rootfs.tar.xz'))
      return { bundle, status: 'refused', reason: 'no rootfs.tar.xz: only LXC images are boot-tested' };
    log(opts.sink, 'info', `${bundle}: verified, boot-testing ${manifest.cell} ${record.serial}`);
    const boot = path.join(work, 'boot');
    await mkdir(boot);
    const result = await bootTest({
      stagingDir: verified.buildDir,
      record,
      workDir: boot,
      timeoutSeconds: opts.timeoutSeconds,
      sink: opts.sink,
      log: (l) => lines.push(l),
    });
    if (result.ok) return { bundle, status: 'passed', cell: manifest.cell, serial: record.serial };
    const logFile = path.join(work, 'boot-test.log');
    await writeFile(logFile, `${lines.join('\n')}\n`);
    const logs: Record<string, string> = { 'boot-test.log': logFile };
    const bundleLogs = path.join(content, 'logs');
    for (const name of await readdir(bundleLogs).catch(() => [])) logs[name] = path.join(bundleLogs, name);
    const q = await quarantineBuild({
      root: opts.quarantine,
      cell: manifest.cell,
      serial: record.serial,
      buildDir: result.buildDir,
      logs,
    });
    return {
      bundle,
      status: 'quarantined',
      cell: manifest.cell,
      serial: record.serial,
      reason: result.reason ?? 'did not boot',
      quarantine: q,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
