import { afterEach, describe, expect, it } from 'vitest';
import type { SourceSection } from '../../src/definition/types.js';
import { bootstrapArgs } from '../../src/source/bootstrap-args.js';
import { makeContext, type TestContext } from './context.js';

const MIRROR = 'http://mirror.invalid/debian';
let ctx: TestContext | undefined;
afterEach(async () => {
  await ctx?.cleanup();
  ctx = undefined;
});

async function argsFor(
  tool: 'debootstrap' | 'mmdebstrap',
  source: Omit<SourceSection, 'downloader'>,
  opts: { early?: { install: string[]; remove: string[] }; keyringFile?: string; hooks?: string[] } = {},
): Promise<string[]> {
  // A test may ask for several command lines: each context is removed before the next.
  await ctx?.cleanup();
  ctx = await makeContext(
    { downloader: tool, ...source },
    { release: 'bookworm', architecture: 'x86_64', ...(opts.early ? { early: opts.early } : {}) },
  );
  return bootstrapArgs(tool, ctx, {
    suite: 'bookworm',
    mirror: MIRROR,
    keyringFile: opts.keyringFile,
    hooks: opts.hooks,
  }).map((a) => a.replace(ctx!.rootfs, 'ROOT'));
}

const full = { variant: 'minbase', components: ['main', 'contrib'], skip_verification: true };
const early = { install: ['a', 'b'], remove: ['c', 'd'] };

describe('the command line of the Debian bootstrappers', () => {
  it('debootstrap: only the architecture, suite, root and mirror when the definition asks for nothing else', async () => {
    expect(await argsFor('debootstrap', {})).toEqual(['--arch=amd64', 'bookworm', 'ROOT', MIRROR]);
  });

  it('debootstrap: variant, components, early sets as --include/--exclude, and --no-check-gpg for skip_verification', async () => {
    expect(await argsFor('debootstrap', full, { early })).toEqual([
      '--variant=minbase',
      '--arch=amd64',
      '--components=main,contrib',
      '--include=a,b',
      '--exclude=c,d',
      '--no-check-gpg',
      'bookworm',
      'ROOT',
      MIRROR,
    ]);
  });

  it('a keyring from source.keys wins over skip_verification', async () => {
    expect(await argsFor('debootstrap', { skip_verification: true }, { keyringFile: '/k.gpg' })).toEqual([
      '--arch=amd64',
      '--keyring=/k.gpg',
      'bookworm',
      'ROOT',
      MIRROR,
    ]);
    expect(await argsFor('mmdebstrap', { skip_verification: true }, { keyringFile: '/k.gpg' })).toEqual([
      '--mode=root',
      '--architectures=amd64',
      '--components=main',
      '--keyring=/k.gpg',
      'bookworm',
      'ROOT',
      MIRROR,
    ]);
  });

  it('mmdebstrap: root mode and the main component even when the definition names none', async () => {
    expect(await argsFor('mmdebstrap', {})).toEqual([
      '--mode=root',
      '--architectures=amd64',
      '--components=main',
      'bookworm',
      'ROOT',
      MIRROR,
    ]);
  });

  it("mmdebstrap: purges the early remove set in a hook, before the caller's hooks, and trusts the mirror through its sources line", async () => {
    expect(await argsFor('mmdebstrap', full, { early, hooks: ['--customize-hook=true'] })).toEqual([
      '--mode=root',
      '--variant=minbase',
      '--architectures=amd64',
      '--components=main,contrib',
      '--include=a,b',
      '--customize-hook=chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get -y purge --allow-remove-essential c d',
      '--customize-hook=true',
      'bookworm',
      'ROOT',
      `deb [trusted=yes] ${MIRROR} bookworm main contrib`,
    ]);
  });
});
