/**
 * An Ubuntu-layout apt archive for debootstrap, made offline: the archive's
 * own packages are unreachable here, so its pool holds real .debs fetched
 * from the host's Debian mirror (the smallest dependency-closed set that
 * debootstrap's `gutsy` script can install), indexed and signed the way
 * the Ubuntu archive is: `dists/<codename>/{InRelease,Release,Release.gpg}`
 * with Origin/Label Ubuntu, `main/binary-<arch>/Packages{,.gz,.xz}`, and
 * `pool/main/<initial>/<source>/`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pickDebianMirror, readAptSources } from '../../../src/source/apt-mirror.js';
import type { TestKey } from '../../source/gpg-keys.js';
import { sharedRoot } from '../../helpers/shared-builds.js';
import { MirrorTree, sha256 } from '../fixtures.js';

/**
 * Debian's own `required` set is what the gutsy script can bootstrap
 * (maintainer scripts call into each other); debconf is what it installs
 * by name for the default variant. Dependencies are added by closure.
 */
const isSeed = (s: Stanza): boolean => s.get('Priority') === 'required' || s.get('Package') === 'debconf';

type Stanza = Map<string, string>;

function parseStanzas(text: string): Stanza[] {
  const out: Stanza[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const s: Stanza = new Map();
    let last = '';
    for (const line of block.split('\n')) {
      if (/^\s/.test(line) && last) s.set(last, `${s.get(last)}\n${line}`);
      else {
        const m = /^([^:\s]+):\s?(.*)$/.exec(line);
        if (m) s.set((last = m[1]!), m[2]!);
      }
    }
    if (s.has('Package')) out.push(s);
  }
  return out;
}

/** First alternative of every Depends/Pre-Depends clause, without versions or arch qualifiers. */
function dependencies(s: Stanza): string[] {
  const fields = [s.get('Pre-Depends'), s.get('Depends')].filter((f): f is string => Boolean(f));
  return fields
    .flatMap((f) => f.split(','))
    .map((clause) =>
      clause
        .split('|')[0]!
        .replace(/\(.*?\)/g, '')
        .replace(/:\w+/, '')
        .trim(),
    )
    .filter(Boolean);
}

function closure(index: Map<string, Stanza>, providers: Map<string, string>, seeds: string[]): Stanza[] {
  const seen = new Map<string, Stanza>();
  const todo = [...seeds];
  while (todo.length) {
    const wanted = todo.pop()!;
    const name = index.has(wanted) ? wanted : providers.get(wanted);
    if (!name) throw new Error(`ubuntu archive fixture: no package provides ${wanted} on the host's Debian mirror`);
    if (seen.has(name)) continue;
    const s = index.get(name)!;
    seen.set(name, s);
    todo.push(...dependencies(s));
  }
  return [...seen.values()];
}

/** The .debs of the set, downloaded once per test run (shared by every caller). */
async function fetchDebs(arch: string): Promise<{ stanza: Stanza; deb: Buffer }[]> {
  const mirror = pickDebianMirror(await readAptSources(), 'bookworm');
  if (!mirror) throw new Error('ubuntu archive fixture: no Debian bookworm mirror in the host apt configuration');
  const base = mirror.replace(/\/+$/, '');
  const dir = path.join(sharedRoot(), `ubuntu-archive-debs-${arch}`);
  mkdirSync(dir, { recursive: true });
  const indexFile = path.join(dir, 'Packages');
  if (!existsSync(indexFile)) {
    const res = await fetch(`${base}/dists/bookworm/main/binary-${arch}/Packages.xz`);
    if (!res.ok) throw new Error(`ubuntu archive fixture: ${res.url}: HTTP ${res.status}`);
    const text = execFileSync('xz', ['-dc'], { input: Buffer.from(await res.arrayBuffer()), maxBuffer: 1 << 30 });
    writeFileSync(`${indexFile}.tmp`, text);
    renameSync(`${indexFile}.tmp`, indexFile);
  }
  const stanzas = parseStanzas(readFileSync(indexFile, 'utf8'));
  const index = new Map(stanzas.map((s) => [s.get('Package')!, s]));
  const providers = new Map<string, string>();
  for (const s of stanzas) {
    for (const p of (s.get('Provides') ?? '').split(',')) {
      const name = p.replace(/\(.*?\)/g, '').trim();
      if (name && !providers.has(name)) providers.set(name, s.get('Package')!);
    }
  }
  const out: { stanza: Stanza; deb: Buffer }[] = [];
  for (const s of closure(
    index,
    providers,
    stanzas.filter(isSeed).map((s) => s.get('Package')!),
  )) {
    const file = path.join(dir, path.basename(s.get('Filename')!));
    if (!existsSync(file)) {
      const res = await fetch(`${base}/${s.get('Filename')}`);
      if (!res.ok) throw new Error(`ubuntu archive fixture: ${res.url}: HTTP ${res.status}`);
      const body = Buffer.from(await res.arrayBuffer());
      if (sha256(body) !== s.get('SHA256')) throw new Error(`ubuntu archive fixture: ${res.url}: checksum mismatch`);
      writeFileSync(`${file}.tmp`, body);
      renameSync(`${file}.tmp`, file);
    }
    out.push({ stanza: s, deb: readFileSync(file) });
  }
  return out;
}

/** The index entry as the archive writes it; every package `required`, so the default variant's `important` set is empty. */
function packagesEntry(s: Stanza, filename: string, deb: Buffer): string {
  const keep = [
    'Package',
    'Source',
    'Version',
    'Installed-Size',
    'Maintainer',
    'Architecture',
    'Replaces',
    'Provides',
    'Pre-Depends',
    'Depends',
    'Breaks',
    'Conflicts',
    'Essential',
    'Multi-Arch',
    'Description',
  ];
  const lines = keep.filter((k) => s.has(k)).map((k) => `${k}: ${s.get(k)}`);
  lines.push(
    'Priority: required',
    `Section: ${s.get('Section') ?? 'misc'}`,
    `Filename: ${filename}`,
    `Size: ${deb.length}`,
    `SHA256: ${sha256(deb)}`,
  );
  return `${lines.join('\n')}\n`;
}

export interface UbuntuArchive {
  tree: MirrorTree;
  /** Package names in the pool. */
  packages: string[];
  /** The InRelease bytes by codename. */
  inRelease: Map<string, Buffer>;
}

/** `<base>/dists/<codename>/...` for each codename, one shared pool, signed with `key`. */
export async function ubuntuArchive(
  key: TestKey,
  opts: { codenames: string[]; arch?: string; base?: string },
): Promise<UbuntuArchive> {
  const arch = opts.arch ?? 'amd64';
  const base = opts.base ?? '/ubuntu';
  const tree = new MirrorTree('apache');
  const entries: string[] = [];
  const packages: string[] = [];
  for (const { stanza, deb } of await fetchDebs(arch)) {
    const name = stanza.get('Package')!;
    const source = (stanza.get('Source') ?? name).split(' ')[0]!;
    const initial = source.startsWith('lib') ? source.slice(0, 4) : source[0]!;
    const filename = `pool/main/${initial}/${source}/${path.basename(stanza.get('Filename')!)}`;
    tree.add(`${base}/${filename}`, deb);
    entries.push(packagesEntry(stanza, filename, deb));
    packages.push(name);
  }
  const packagesText = Buffer.from(entries.join('\n'));
  const indices: [string, Buffer][] = [
    [`main/binary-${arch}/Packages`, packagesText],
    [`main/binary-${arch}/Packages.gz`, gzipSync(packagesText)],
    [`main/binary-${arch}/Packages.xz`, execFileSync('xz', ['-c'], { input: packagesText })],
  ];
  const inRelease = new Map<string, Buffer>();
  for (const [i, codename] of opts.codenames.entries()) {
    const release = [
      'Origin: Ubuntu',
      'Label: Ubuntu',
      `Suite: ${codename}`,
      `Version: ${22 + 2 * i}.04`,
      `Codename: ${codename}`,
      'Date: Wed, 15 Jan 2025 10:30:00 UTC',
      `Architectures: ${arch}`,
      'Components: main',
      `Description: Ubuntu ${codename} (kiln fixture)`,
      'SHA256:',
      ...indices.map(([p, b]) => ` ${sha256(b)} ${String(b.length).padStart(16)} ${p}`),
      '',
    ].join('\n');
    const dists = `${base}/dists/${codename}`;
    for (const [p, b] of indices) tree.add(`${dists}/${p}`, b);
    tree.add(`${dists}/Release`, release);
    tree.add(`${dists}/Release.gpg`, key.detachSign(release));
    inRelease.set(codename, key.clearsign(release));
    tree.add(`${dists}/InRelease`, inRelease.get(codename)!);
  }
  return { tree, packages, inRelease };
}
