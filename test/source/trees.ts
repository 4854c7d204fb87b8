import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  lutimesSync,
  lchownSync,
} from 'node:fs';
import path from 'node:path';

/**
 * A small tree with everything a root filesystem has: owners, setuid, a
 * private directory, hardlinks, absolute and relative symlinks, a device
 * node, a fifo and xattrs.
 */
export function makeRichTree(dir: string): void {
  const T = 1_600_000_000;
  mkdirSync(path.join(dir, 'usr/bin'), { recursive: true });
  mkdirSync(path.join(dir, 'etc'));
  mkdirSync(path.join(dir, 'dev'));
  mkdirSync(path.join(dir, 'home/user'), { recursive: true });
  writeFileSync(path.join(dir, 'usr/bin/su'), 'setuid binary\n');
  chmodSync(path.join(dir, 'usr/bin/su'), 0o4755);
  writeFileSync(path.join(dir, 'usr/bin/wall'), 'setgid\n');
  chownSync(path.join(dir, 'usr/bin/wall'), 0, 5);
  chmodSync(path.join(dir, 'usr/bin/wall'), 0o2755);
  writeFileSync(path.join(dir, 'usr/bin/ping'), 'capability\n');
  execFileSync('setcap', ['cap_net_raw+ep', path.join(dir, 'usr/bin/ping')]);
  writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(path.join(dir, 'etc/big'), Buffer.alloc(3 * 1024 * 1024 + 17, 0x61));
  linkSync(path.join(dir, 'etc/passwd'), path.join(dir, 'etc/passwd.hard'));
  symlinkSync('/etc/passwd', path.join(dir, 'etc/abs-link'));
  symlinkSync('../usr/bin/su', path.join(dir, 'etc/rel-link'));
  symlinkSync('usr/bin', path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'home/user/notes'), 'mine\n');
  chownSync(path.join(dir, 'home/user/notes'), 1000, 1000);
  chownSync(path.join(dir, 'home/user'), 1000, 1000);
  chmodSync(path.join(dir, 'home/user'), 0o700);
  lchownSync(path.join(dir, 'etc/rel-link'), 1000, 1000);
  execFileSync('mknod', ['-m', '0666', path.join(dir, 'dev/null'), 'c', '1', '3']);
  execFileSync('mknod', ['-m', '0600', path.join(dir, 'dev/initctl'), 'p']);
  execFileSync('setfattr', ['-n', 'user.kiln', '-v', 'hello', path.join(dir, 'etc/passwd')]);
  execFileSync('setfattr', ['-n', 'user.dir', '-v', '0x00ff10', path.join(dir, 'etc')]);
  const all = listPaths(dir);
  for (const p of all.reverse()) {
    const full = path.join(dir, p);
    if (lstatSync(full).isSymbolicLink()) lutimesSync(full, T, T);
    else utimesSync(full, T + 1, T + 1);
  }
}

function listPaths(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    out.push(r);
    if (lstatSync(path.join(dir, r)).isDirectory()) out.push(...listPaths(dir, r));
  }
  return out;
}

/** Everything unpacking must keep, one line per path; hardlinks show as the same group. */
export function describeTree(dir: string): string[] {
  const inodes = new Map<number, string>();
  const lines: string[] = [];
  for (const p of listPaths(dir)) {
    const full = path.join(dir, p);
    const st = lstatSync(full);
    const type = st.isDirectory()
      ? 'd'
      : st.isSymbolicLink()
        ? 'l'
        : st.isFile()
          ? 'f'
          : st.isCharacterDevice()
            ? 'c'
            : st.isFIFO()
              ? 'p'
              : '?';
    let extra = '';
    if (type === 'l') extra = `-> ${readlinkSync(full)}`;
    if (type === 'f') {
      extra = `size=${st.size}`;
      if (st.nlink > 1) {
        const first = inodes.get(st.ino);
        if (first) extra += ` link=${first}`;
        else inodes.set(st.ino, p);
      }
    }
    if (type === 'c') extra = `rdev=${st.rdev}`;
    const mode = type === 'l' ? '' : (st.mode & 0o7777).toString(8);
    const mtime =
      type === 'd' || type === 'l' || type === 'f' || type === 'c' || type === 'p' ? Math.floor(st.mtimeMs / 1000) : 0;
    lines.push(`${p} ${type} ${mode} ${st.uid}:${st.gid} ${mtime} ${extra}`.trim());
  }
  return lines;
}

/** `getfattr -d -m -` output, paths relative to dir, or '' when none. */
export function dumpXattrs(dir: string): string {
  return execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: dir, encoding: 'utf8' });
}
