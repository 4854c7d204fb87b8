import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln, ROOT } from '../helpers/kiln.js';
import { cgroupTree, kilnTempDirs, mountPoints } from '../helpers/host-state.js';

/**
 * `kiln build` of the busybox definition whose package manager fails to
 * install a set: the build stops at that step with the manager's exit code
 * and last output, runs nothing after it, leaves no container, mount,
 * cgroup or scratch directory, and publishes nothing.
 */
describe('a failing package install', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-failinstall-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('stops kiln build with the manager exit code and output, names the step, and leaves nothing behind', async () => {
    const base = await readFile(path.join(ROOT, 'definitions/busybox.yaml'), 'utf8');
    // The definition's own actions and packages sections come last; both are replaced.
    const cut = Math.min(base.indexOf('\nactions:'), base.indexOf('\npackages:'));
    expect(cut).toBeGreaterThan(0);
    const yaml = `${base.slice(0, cut)}
packages:
  custom_manager:
    refresh: {cmd: "true"}
    update: {cmd: "true"}
    clean: {cmd: "true"}
    remove: {cmd: "true"}
    install:
      cmd: sh
      flags: ["-c", "echo \\"installing $*\\"; echo \\"E: Unable to locate package $1\\" >&2; exit 42", "pm"]
  sets:
  - packages: [no-such-package]
    action: install
actions:
- trigger: post-packages
  action: |-
    #!/bin/sh
    echo "post-packages must not run" >&2
    exit 9
`;
    const file = path.join(tmp, 'failing-install.yaml');
    await writeFile(file, yaml);
    const out = path.join(tmp, 'out');
    const work = path.join(tmp, 'work');
    const mounts = mountPoints();
    const cgroups = cgroupTree();

    const r = await kiln(['build', file, '--out', out, '--work-dir', work, '--cache-dir', path.join(tmp, 'cache')]);

    expect(r.exitCode, r.all).toBe(42);
    expect(r.stderr).toContain('step packages.install[0]: exited with code 42');
    expect(r.stderr).toContain('E: Unable to locate package no-such-package');
    expect(r.all).toContain('installing no-such-package');
    expect(r.all).not.toContain('post-packages must not run');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    expect(kilnTempDirs(work)).toEqual([]);
    expect(mountPoints()).toEqual(mounts);
    expect(cgroupTree().filter((c) => c.includes('kiln'))).toEqual(cgroups.filter((c) => c.includes('kiln')));
  });
});
