import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { kernelArchitecture, needsEmulation, qemuTarget, sampleElfHeader } from './emulation.js';

/**
 * kiln's own steps need no host binfmt_misc registration (kiln-run makes
 * one in the container's user namespace), but the real LXC client does:
 * `lxc-start` executes the image's init directly, so booting a foreign
 * image (the catalog's boot test, or a user's container) needs the host's
 * kernel to know the interpreter.
 */
export interface HostRegistration {
  /** The entry's name under /proc/sys/fs/binfmt_misc. */
  name: string;
  interpreter: string;
}

const BINFMT = '/proc/sys/fs/binfmt_misc';

interface Entry {
  enabled: boolean;
  interpreter: string;
  offset: number;
  magic: Buffer;
  mask?: Buffer;
}

function parseEntry(text: string): Entry | undefined {
  const field = (key: string): string | undefined =>
    text
      .split('\n')
      .find((l) => l.startsWith(`${key} `))
      ?.slice(key.length + 1)
      .trim();
  const magic = field('magic');
  if (magic === undefined) return undefined; // an extension entry (E), not a magic one
  const mask = field('mask');
  return {
    enabled: text.split('\n')[0]?.trim() === 'enabled',
    interpreter: field('interpreter') ?? '',
    offset: Number(field('offset') ?? '0'),
    magic: Buffer.from(magic, 'hex'),
    ...(mask !== undefined ? { mask: Buffer.from(mask, 'hex') } : {}),
  };
}

function matches(e: Entry, head: Buffer): boolean {
  if (e.offset + e.magic.length > head.length) return false;
  for (let i = 0; i < e.magic.length; i++) {
    const m = e.mask ? (e.mask[i] ?? 0xff) : 0xff;
    if (((head[e.offset + i] ?? 0) & m) !== ((e.magic[i] ?? 0) & m)) return false;
  }
  return true;
}

/**
 * The host's enabled binfmt_misc entry that runs executables of
 * `architecture`, or undefined when binfmt_misc is not mounted, is
 * disabled, or has none.
 */
export async function hostRegistration(architecture: string, dir = BINFMT): Promise<HostRegistration | undefined> {
  const head = sampleElfHeader(architecture);
  if (!head) return undefined;
  let names: string[];
  try {
    if ((await readFile(path.join(dir, 'status'), 'utf8')).trim() !== 'enabled') return undefined;
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const name of names.sort()) {
    if (name === 'status' || name === 'register') continue;
    let entry: Entry | undefined;
    try {
      entry = parseEntry(await readFile(path.join(dir, name), 'utf8'));
    } catch {
      continue;
    }
    if (entry?.enabled && matches(entry, head)) return { name, interpreter: entry.interpreter };
  }
  return undefined;
}

/**
 * Why the LXC boot test of an `architecture` image cannot run on this host,
 * or undefined when it can: a foreign architecture needs a host
 * registration. Asked before any download, so the gate never quarantines a
 * good image for what the host lacks.
 */
export async function bootTestRefusal(architecture: string): Promise<string | undefined> {
  if (!needsEmulation(architecture) || (await hostRegistration(architecture))) return undefined;
  return `cannot boot-test: ${missingRegistrationHint(architecture)}`;
}

/** What to tell a user whose host cannot start containers of `architecture`. */
function missingRegistrationHint(architecture: string): string {
  const kernel = kernelArchitecture(architecture);
  const qemu = qemuTarget(architecture) ?? kernel;
  return (
    `the host has no binfmt_misc registration for ${kernel}, which lxc-start needs to run a ${architecture} ` +
    `image's init (kiln's own build steps do not); add one with the Debian packages qemu-user-static and ` +
    `binfmt-support (\`mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc\` if it is not mounted, ` +
    `then \`update-binfmts --enable qemu-${qemu}\`)`
  );
}
