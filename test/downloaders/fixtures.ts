/**
 * Upstream mirrors reproduced on loopback: a tree of files with directory
 * listings rendered the way the real servers render them, served by the
 * fixture HTTP server, and small real-format roots built from the host's
 * static busybox.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFixtureServer, type FixtureServer } from '../fixtures/http-server.js';

export type ListingStyle = 'nginx' | 'apache' | 'mirrorcache' | 'lighttpd';

const MTIME = new Date(Date.UTC(2025, 0, 15, 10, 30));

/** Files by absolute path; directories get a listing page in the chosen style. */
export class MirrorTree {
  readonly files = new Map<string, Buffer>();
  constructor(readonly style: ListingStyle) {}

  add(p: string, content: Buffer | string): this {
    this.files.set(p, typeof content === 'string' ? Buffer.from(content) : content);
    return this;
  }

  delete(p: string): this {
    this.files.delete(p);
    return this;
  }

  /** Every directory with its direct children (directories end in `/`). */
  directories(): Map<string, Set<string>> {
    const dirs = new Map<string, Set<string>>();
    for (const p of this.files.keys()) {
      const parts = p.split('/').filter(Boolean);
      for (let i = 0; i < parts.length; i++) {
        const dir = `/${parts.slice(0, i).join('/')}${i ? '/' : ''}`;
        const child = i === parts.length - 1 ? parts[i]! : `${parts[i]}/`;
        if (!dirs.has(dir)) dirs.set(dir, new Set());
        dirs.get(dir)!.add(child);
      }
    }
    return dirs;
  }

  /** Puts files and listing pages on `server` (replacing what was there). */
  publish(server: FixtureServer): void {
    for (const [p, c] of this.files) server.set(p, c);
    for (const [dir, children] of this.directories()) {
      const sizes = new Map([...children].map((c) => [c, this.files.get(dir + c)?.length]));
      server.set(dir, renderListing(this.style, dir, [...children].sort(), sizes), {
        headers: { 'content-type': 'text/html' },
      });
    }
  }
}

function nginxDate(d: Date): string {
  const m = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]!;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}-${m}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const href = (name: string): string => esc(name.split('/').map(encodeURIComponent).join('/'));

/** Listing HTML as nginx autoindex, Apache mod_autoindex (fancy), MirrorCache or lighttpd mod_dirlisting write it. */
export function renderListing(
  style: ListingStyle,
  dir: string,
  children: string[],
  sizes: Map<string, number | undefined>,
): string {
  if (style === 'nginx') {
    // nginx cuts names longer than 50 columns to 47 + "..>" in the text, never in the href.
    const rows = children.map((c) => {
      const text = c.length > 50 ? `${c.slice(0, 47)}..&gt;` : esc(c);
      const shown = c.length > 50 ? 50 : c.length;
      const size = sizes.get(c) === undefined ? '-' : String(sizes.get(c));
      return `<a href="${href(c)}">${text}</a>${' '.repeat(51 - shown)}${nginxDate(MTIME)} ${size.padStart(19)}`;
    });
    return `<html>\r\n<head><title>Index of ${esc(dir)}</title></head>\r\n<body>\r\n<h1>Index of ${esc(dir)}</h1><hr><pre><a href="../">../</a>\r\n${rows.join('\r\n')}\r\n</pre><hr></body>\r\n</html>\r\n`;
  }
  if (style === 'apache') {
    const title = dir.length > 1 ? dir.replace(/\/$/, '') : dir;
    const parent = dir.replace(/[^/]+\/$/, '');
    const rows = children.map((c) => {
      const icon = c.endsWith('/')
        ? '<img src="/icons/folder.gif" alt="[DIR]">'
        : '<img src="/icons/unknown.gif" alt="[   ]">';
      const size = sizes.get(c);
      const human = size === undefined ? '  - ' : size > 1024 ? `${(size / 1024).toFixed(0)}K` : String(size);
      return `<tr><td valign="top">${icon}</td><td><a href="${href(c)}">${esc(c)}</a></td><td align="right">${isoDate(MTIME)}  </td><td align="right">${human}</td><td>&nbsp;</td></tr>`;
    });
    return [
      '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">',
      '<html>',
      ' <head>',
      `  <title>Index of ${esc(title)}</title>`,
      ' </head>',
      ' <body>',
      `<h1>Index of ${esc(title)}</h1>`,
      '  <table>',
      '   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>',
      '   <tr><th colspan="5"><hr></th></tr>',
      ...(dir === '/'
        ? []
        : [
            `<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="${href(parent)}">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td><td>&nbsp;</td></tr>`,
          ]),
      ...rows,
      '   <tr><th colspan="5"><hr></th></tr>',
      '</table>',
      '<address>Apache Server at 127.0.0.1 Port 80</address>',
      '</body></html>',
      '',
    ].join('\n');
  }
  if (style === 'lighttpd') {
    const rows = children.map((c) => {
      const size = sizes.get(c);
      return `<tr><td class="n"><a href="${href(c)}">${esc(c.replace(/\/$/, ''))}</a>${c.endsWith('/') ? '/' : ''}</td><td class="m">2025-Jan-15 10:30:00</td><td class="s">${size === undefined ? '- &nbsp;' : `${(size / 1024).toFixed(1)}K`}</td><td class="t">${c.endsWith('/') ? 'Directory' : 'application/octet-stream'}</td></tr>`;
    });
    return `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html><head><title>Index of ${esc(dir)}</title></head><body><h2>Index of ${esc(dir)}</h2><div class="list"><table summary="Directory Listing" cellpadding="0" cellspacing="0"><thead><tr><th class="n">Name</th><th class="m">Last Modified</th><th class="s">Size</th><th class="t">Type</th></tr></thead><tbody><tr class="d"><td class="n"><a href="../">..</a>/</td><td class="m">&nbsp;</td><td class="s">- &nbsp;</td><td class="t">Directory</td></tr>\n${rows.join('\n')}\n</tbody></table></div><div class="foot">lighttpd/1.4.69</div></body></html>\n`;
  }
  // MirrorCache: absolute hrefs under /download, a metalink link per file, a breadcrumb of parent links.
  const crumbs = dir
    .split('/')
    .filter(Boolean)
    .map(
      (_, i, all) =>
        `<li class="breadcrumb-item"><a href="/${all
          .slice(0, i + 1)
          .map(encodeURIComponent)
          .join('/')}/">${esc(all[i]!)}</a></li>`,
    );
  const rows = children.map((c) => {
    const size = sizes.get(c);
    const abs = `${dir}${href(c)}`;
    return `<tr><td><a href="${abs}">${esc(c)}</a></td><td>${size === undefined ? '' : `${size} Byte`}</td><td>${isoDate(MTIME)}</td>${c.endsWith('/') ? '<td></td>' : `<td><a href="${abs}.mirrorlist">Details</a></td>`}</tr>`;
  });
  return `<!DOCTYPE html>\n<html lang="en"><head><title>${esc(dir)}</title></head><body><nav><ol class="breadcrumb">${crumbs.join('')}</ol></nav>\n<div class="container"><table class="table table-striped" id="browse-table"><thead><tr><th>Name</th><th>Size</th><th>Last Modified</th><th>Type</th></tr></thead><tbody>\n<tr><td><a href="../">Parent Directory</a></td><td></td><td></td><td></td></tr>\n${rows.join('\n')}\n</tbody></table><a href="${esc(dir)}?jsontable">json</a></div></body></html>\n`;
}

let busyboxApplets: string[] | undefined;

/**
 * A tiny root from the host's static busybox: every applet as a symlink,
 * the base directories, root in passwd/group, plus `files` (mode 0755 when
 * the content starts with `#!`).
 */
export function busyboxRoot(
  dir: string,
  files: Record<string, string | Buffer> = {},
  opts: { applets?: 'all' | 'few' } = {},
): void {
  busyboxApplets ??= execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  const few = new Set([
    'bin/sh',
    'bin/ls',
    'bin/cat',
    'bin/echo',
    'bin/mkdir',
    'bin/cp',
    'bin/ln',
    'bin/rm',
    'bin/sed',
    'bin/grep',
    'sbin/init',
    'bin/mount',
    'bin/touch',
    'usr/bin/env',
    'bin/chmod',
    'usr/bin/id',
    'sbin/halt',
    'sbin/poweroff',
    'sbin/reboot',
    'bin/hostname',
    'bin/sleep',
    'usr/bin/tr',
  ]);
  for (const applet of busyboxApplets) {
    if (applet === 'bin/busybox' || (opts.applets === 'few' && !few.has(applet))) continue;
    const link = path.join(dir, applet);
    mkdirSync(path.dirname(link), { recursive: true });
    const depth = applet.split('/').length - 1;
    try {
      symlinkSync(`${'../'.repeat(depth)}bin/busybox`, link);
    } catch {
      // the same applet listed twice
    }
  }
  for (const d of ['dev', 'proc', 'sys', 'run', 'tmp', 'root', 'etc', 'var/log', 'mnt', 'home'])
    mkdirSync(path.join(dir, d), { recursive: true });
  chmodSync(path.join(dir, 'tmp'), 0o1777);
  chmodSync(path.join(dir, 'root'), 0o700);
  writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\n');
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(dir, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, content);
    if (content.slice(0, 2).toString() === '#!') chmodSync(f, 0o755);
  }
}

/** tar (GNU, numeric owners) of `dir`'s contents, optionally compressed, into a buffer. */
export function tarOf(dir: string, compress?: 'gzip' | 'xz' | 'zstd', opts: { prefix?: string } = {}): Buffer {
  const args = ['--numeric-owner', '--owner=0', '--group=0', '-cpf', '-', '-C', dir];
  const tarball = execFileSync(
    'tar',
    opts.prefix ? [...args, '--transform', `s,^\\.,${opts.prefix},S`, '.'] : [...args, '.'],
    { maxBuffer: 1 << 30 },
  );
  if (!compress) return tarball;
  return execFileSync(
    compress,
    compress === 'zstd' ? ['-q', '-c'] : compress === 'xz' ? ['-c', '-0', '-T1'] : ['-c', '-1'],
    { input: tarball, maxBuffer: 1 << 30 },
  );
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

export function sha512(b: Buffer | string): string {
  return createHash('sha512').update(b).digest('hex');
}

/** A scratch directory under the system temp dir, removed by the returned function. */
export function scratch(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `kiln-dl-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A busybox root archived with `compress`, built in a scratch dir that is removed again. */
export function busyboxArchive(
  files: Record<string, string | Buffer>,
  compress: 'gzip' | 'xz' | 'zstd',
  opts: { prefix?: string; applets?: 'all' | 'few' } = {},
): Buffer {
  const s = scratch('root');
  try {
    busyboxRoot(s.dir, files, { applets: opts.applets ?? 'few' });
    return tarOf(s.dir, compress, opts.prefix ? { prefix: opts.prefix } : {});
  } finally {
    s.remove();
  }
}

export async function startMirror(tree: MirrorTree): Promise<FixtureServer> {
  const server = await startFixtureServer();
  tree.publish(server);
  return server;
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
