import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import tar from 'tar-stream';

export interface RawEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
  size?: number;
}

/** A tar built entry by entry, for archives no honest tool would write. */
export async function rawTar(entries: RawEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const header = {
      name: e.name,
      type: e.type ?? 'file',
      ...(e.linkname !== undefined && { linkname: e.linkname }),
      mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
      mtime: new Date(1_600_000_000_000),
      uid: 0,
      gid: 0,
    };
    if (e.content === undefined) pack.entry(header);
    else pack.entry(header, Buffer.from(e.content));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** GNU tar of a directory, the way upstream rootfs tarballs are made. */
/** A ustar header of a file `zeros` declaring `declared` bytes (more than the archive will hold). */
async function bombHeader(declared: number): Promise<Buffer> {
  const h = Buffer.from((await rawTar([{ name: 'zeros', content: '' }])).subarray(0, 512));
  h.write(declared.toString(8).padStart(11, '0') + '\0', 124, 12, 'latin1');
  h.write('        ', 148, 8, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

/**
 * A tar "bomb": one header declaring a file `zeros` of `declared` bytes,
 * then `frames` compressed frames (zstd) or members (gzip) of 256 MiB of
 * zeros each (both formats concatenate), so a small file expands to gigabytes.
 */
export async function tarBomb(compressor: 'zstd' | 'gzip', declared: number, frames: number): Promise<Buffer> {
  const h = await bombHeader(declared);
  const args = compressor === 'zstd' ? ['-q', '-c'] : ['-9', '-c'];
  const zero = execFileSync('sh', ['-c', `head -c 268435456 /dev/zero | ${compressor} ${args.join(' ')}`], {
    maxBuffer: 1 << 26,
  });
  return Buffer.concat([execFileSync(compressor, args, { input: h }), ...Array.from({ length: frames }, () => zero)]);
}

/** A zstd tar bomb (see tarBomb). */
export function zstdBomb(declared: number, frames: number): Promise<Buffer> {
  return tarBomb('zstd', declared, frames);
}

export function gnuTar(dir: string, out: string, compress?: 'gzip' | 'xz' | 'zstd' | 'bzip2'): void {
  const tarball = execFileSync(
    'tar',
    ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-cpf', '-', '-C', dir, '.'],
    { maxBuffer: 1 << 30 },
  );
  const data = compress
    ? execFileSync(compress, compress === 'zstd' ? ['-q', '-c'] : ['-c'], { input: tarball, maxBuffer: 1 << 30 })
    : tarball;
  writeFileSync(out, data);
}

/** A zip with unix modes and symlinks, written by Python's zipfile the way Info-ZIP does; device nodes and fifos have no zip form and are left out. */
export function makeZip(dir: string, out: string): void {
  execFileSync('python3', ['-c', ZIP_SCRIPT, dir, out]);
}

/** A squashfs image of a directory; tar2sqfs keeps hardlinks and xattrs (gensquashfs --pack-dir does not keep hardlinks). */
export function makeSquashfs(dir: string, out: string): void {
  const tarball = execFileSync(
    'tar',
    ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-cpf', '-', '-C', dir, '.'],
    { maxBuffer: 1 << 30 },
  );
  execFileSync('tar2sqfs', ['-q', '-f', out], { input: tarball, stdio: ['pipe', 'pipe', 'pipe'] });
}

const ZIP_SCRIPT = `
import os, sys, zipfile, stat
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for dirpath, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, src)
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                zi = zipfile.ZipInfo(rel + '/'); zi.external_attr = (st.st_mode & 0xFFFF) << 16; zi.create_system = 3
                z.writestr(zi, b'')
            elif stat.S_ISLNK(st.st_mode):
                zi = zipfile.ZipInfo(rel); zi.external_attr = (st.st_mode & 0xFFFF) << 16; zi.create_system = 3
                z.writestr(zi, os.readlink(full))
            elif stat.S_ISREG(st.st_mode):
                zi = zipfile.ZipInfo(rel); zi.external_attr = (st.st_mode & 0xFFFF) << 16; zi.create_system = 3
                with open(full, 'rb') as f: z.writestr(zi, f.read(), zipfile.ZIP_DEFLATED)
`;
