import { execa } from 'execa';
import type { EventSink } from '../util/events.js';
import { log } from '../util/events.js';
import { KilnError } from '../util/errors.js';

/**
 * Extended attributes of every inode under a root, keyed by path relative to
 * the root ('' is the root itself). Node has no xattr API, so one
 * `getfattr -R` pass (metadata only, no file content) dumps them all.
 *
 * `system.*` (POSIX ACLs) and `security.selinux` (the build host's labels)
 * are left out, as GNU tar does without --acls/--selinux.
 */
export type XattrMap = Map<string, Map<string, Buffer>>;

function keep(name: string): boolean {
  return !name.startsWith('system.') && name !== 'security.selinux';
}

/** getfattr escapes unusual bytes in names as `\ooo`. */
function unescapeOctal(s: string): string {
  if (!/[\\\x80-\xff]/.test(s)) return s;
  const bytes = Buffer.from(
    s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))),
    'latin1',
  );
  return bytes.toString('utf8');
}

function decodeValue(v: string): Buffer {
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64');
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex');
  if (v.startsWith('"') && v.endsWith('"')) return Buffer.from(unescapeOctal(v.slice(1, -1)), 'utf8');
  return Buffer.alloc(0);
}

export function parseGetfattrDump(text: string): XattrMap {
  const out: XattrMap = new Map();
  let current: Map<string, Buffer> | null = null;
  // Read as latin1 so escaped and raw bytes survive until unescapeOctal.
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      let path = unescapeOctal(line.slice(8));
      path = path === '.' ? '' : path.replace(/^\.\//, '');
      current = new Map();
      out.set(path, current);
      continue;
    }
    if (current === null || line === '') continue;
    const eq = line.indexOf('=');
    const name = unescapeOctal(eq < 0 ? line : line.slice(0, eq));
    if (!keep(name)) continue;
    current.set(name, eq < 0 ? Buffer.alloc(0) : decodeValue(line.slice(eq + 1)));
  }
  for (const [path, attrs] of out) if (attrs.size === 0) out.delete(path);
  return out;
}

export async function readXattrs(root: string, sink: EventSink, signal?: AbortSignal): Promise<XattrMap> {
  let result;
  try {
    result = await execa('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '.'], {
      cwd: root,
      encoding: 'latin1',
      reject: false,
      maxBuffer: 1024 * 1024 * 1024,
      ...(signal ? { cancelSignal: signal } : {}),
    });
  } catch (e) {
    throw new KilnError(`cannot read extended attributes of ${root}: ${(e as Error).message}`, { cause: e });
  }
  if (signal?.aborted) throw signal.reason;
  if ((result as { code?: string }).code === 'ENOENT' || result.exitCode === undefined) {
    throw new KilnError('getfattr is not installed: kiln needs it (Debian package "attr") to keep extended attributes');
  }
  if (result.exitCode !== 0) {
    const first = String(result.stderr).split('\n')[0] ?? '';
    log(sink, 'warn', `getfattr on ${root} reported problems (some xattrs may be missing): ${first}`);
  }
  return parseGetfattrDump(String(result.stdout));
}
