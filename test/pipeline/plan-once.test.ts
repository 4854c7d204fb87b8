/**
 * A build makes its plan once: the definition is read and resolved one
 * time, and the input digest is computed from that same in-memory plan with
 * the serial masked (no second load to digest it). Counted from outside, as
 * the kernel sees it: strace of the real `kiln build` lists the opens of the
 * definition file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KILN_BIN, ROOT } from '../helpers/kiln.js';

describe('the plan of a build', () => {
  let tmp: string;
  let definition: string;
  const opensDuring = async (args: string[]): Promise<number> => {
    const trace = path.join(tmp, `trace-${Date.now()}`);
    const r = await execa('strace', ['-f', '-qq', '-e', 'trace=open,openat', '-o', trace, 'node', KILN_BIN, ...args], {
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).toBe(0);
    return (await readFile(trace, 'utf8')).split('\n').filter((l) => l.includes(definition)).length;
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-once-'));
    definition = path.join(tmp, 'once.yaml');
    await writeFile(definition, await readFile(path.join(ROOT, 'definitions/busybox.yaml'), 'utf8'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('is made once per kiln build: the definition file is opened one time', async () => {
    const out = path.join(tmp, 'out');
    expect(
      await opensDuring(['build', definition, '--out', out, '--formats', 'incus', '--serial', '20260401_00:00']),
    ).toBe(1);
  });

  it('digests the same for two serials: a new serial alone is no change', async () => {
    const out = path.join(tmp, 'out');
    const r = await execa(
      'node',
      [KILN_BIN, 'build', definition, '--out', out, '--formats', 'incus', '--serial', '20260401_00:01'],
      { reject: false, all: true },
    );
    expect(r.exitCode, r.all).toBe(0);
    const [arch] = await readdir(path.join(out, 'images/busybox/1.35'));
    const digest = async (serial: string): Promise<string> =>
      (
        JSON.parse(
          await readFile(path.join(out, 'images/busybox/1.35', arch!, 'default', serial, 'build.json'), 'utf8'),
        ) as { inputDigest: string }
      ).inputDigest;
    expect(await digest('20260401_00:01')).toBe(await digest('20260401_00:00'));
  });

  it('is only shown for what kiln build can build: --vm is refused until VM images are built', async () => {
    const r = await execa('node', [KILN_BIN, 'plan', definition, '--vm'], { reject: false, all: true });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      'kiln: --vm: kiln builds container images only for now, so there is no VM plan to show; `kiln validate --vm` checks the VM parts of a definition',
    );
  });
});
