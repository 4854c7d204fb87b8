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
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const body = e.content === undefined ? undefined : Buffer.from(e.content);
    pack.entry(
      { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), mtime: new Date(1_600_000_000_000), uid: 0, gid: 0 },
      body,
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** GNU tar of a directory, the way upstream rootfs tarballs are made. */
export function gnuTar(dir: string, out: string, compress?: 'gzip' | 'xz' | 'zstd' | 'bzip2'): void {
  const tarball = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-cpf', '-', '-C', dir, '.'], { maxBuffer: 1 << 30 });
  const data = compress ? execFileSync(compress, compress === 'zstd' ? ['-q', '-c'] : ['-c'], { input: tarball, maxBuffer: 1 << 30 }) : tarball;
  writeFileSync(out, data);
}
