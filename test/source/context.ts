import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ResolvedDefinition, SourceSection } from '../../src/definition/types.js';
import type { SourceContext } from '../../src/source/types.js';
import { MemorySink } from '../../src/util/events.js';

export interface TestContext extends SourceContext {
  sink: MemorySink;
  /** Parent of rootfs, cacheDir and workDir; `canary` sits beside the root. */
  base: string;
  canary: string;
  cleanup(): Promise<void>;
}

/** A fresh SourceContext in its own temp directory, as the build would hand it over. */
export async function makeContext(
  source: SourceSection,
  opts: {
    release?: string;
    architecture?: string;
    early?: { install: string[]; remove: string[] };
    cacheDir?: string;
  } = {},
): Promise<TestContext> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'kiln-source-test-'));
  const rootfs = path.join(base, 'rootfs');
  const workDir = path.join(base, 'work');
  const canary = path.join(base, 'canary');
  const cacheDir = opts.cacheDir ?? path.join(base, 'cache');
  await Promise.all([mkdir(rootfs), mkdir(workDir), mkdir(canary), mkdir(cacheDir, { recursive: true })]);
  const arch = opts.architecture ?? 'x86_64';
  const definition: ResolvedDefinition = {
    image: {
      distribution: 'test',
      release: opts.release ?? 'test',
      architecture: arch,
      architecture_mapped: arch === 'x86_64' ? 'amd64' : arch,
      architecture_kernel: arch,
      architecture_personality: 'x86_64',
      variant: 'default',
      serial: '20240101_0000',
      expiry: '30d',
      name: 'test',
      description: 'test',
    },
    source,
  };
  const sink = new MemorySink();
  return {
    definition,
    step: {
      kind: 'source',
      name: 'source',
      downloader: source.downloader,
      source,
      early: opts.early ?? { install: [], remove: [] },
    },
    rootfs,
    cacheDir,
    workDir,
    sink,
    base,
    canary,
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}
