import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildRecord } from '../pipeline/record.js';
import { KilnError } from '../util/errors.js';
import type { EventSink } from '../util/events.js';
import { findArtifact } from './artifacts.js';
import { sha256Concat, sha256File } from './sha256.js';

/** Parses `sha256sum` output (`HASH  NAME` or `HASH *NAME`). */
export function parseSha256Sums(text: string, file: string): Map<string, string> {
  const sums = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m || m[2]!.includes('/'))
      throw new KilnError(
        `${file}:${i + 1}: not a 'SHA256  NAME' line for a file of this directory: ${JSON.stringify(line)}`,
      );
    sums.set(m[2]!, m[1]!.toLowerCase());
  });
  return sums;
}

async function fsyncFile(file: string): Promise<void> {
  const fd = await open(file, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/**
 * Checks a staged build before it becomes visible: every file of SHA256SUMS
 * and of the record hashes to what they say, the combined fingerprints match
 * the files. Flushes every file to disk on the way, so the rename that
 * publishes the build never exposes unwritten data. Returns the record with
 * any missing fingerprint filled in.
 */
export async function verifyStagedBuild(dir: string, record: BuildRecord, sink: EventSink): Promise<BuildRecord> {
  const sumsFile = join(dir, 'SHA256SUMS');
  let sumsText: string;
  try {
    sumsText = await readFile(sumsFile, 'utf8');
  } catch {
    throw new KilnError(`${sumsFile}: missing; a build directory must carry SHA256SUMS`);
  }
  const sums = parseSha256Sums(sumsText, sumsFile);
  const names = new Set([...sums.keys(), ...record.artifacts.map((a) => a.name).filter((n) => n !== 'build.json')]);
  let total = 0;
  for (const n of names) {
    const st = await stat(join(dir, n)).catch(() => undefined);
    if (!st?.isFile())
      throw new KilnError(
        `${join(dir, n)}: listed in ${sums.has(n) ? 'SHA256SUMS' : 'build.json'} but not a file in the build directory`,
      );
    total += st.size;
  }
  let done = 0;
  const actual = new Map<string, string>();
  for (const n of [...names].sort()) {
    const file = join(dir, n);
    const hash = await sha256File(file);
    await fsyncFile(file);
    actual.set(n, hash);
    done += (await stat(file)).size;
    sink.emit({ type: 'progress', task: 'verify', done, total, unit: 'bytes' });
    const listed = sums.get(n);
    if (listed !== undefined && listed !== hash)
      throw new KilnError(`${file}: sha256 ${hash} does not match SHA256SUMS (${listed}); the build is corrupt`);
  }
  for (const a of record.artifacts) {
    if (a.name === 'build.json') continue;
    const file = join(dir, a.name);
    if (actual.get(a.name) !== a.sha256.toLowerCase())
      throw new KilnError(`${file}: sha256 ${actual.get(a.name)} does not match build.json (${a.sha256})`);
    const size = (await stat(file)).size;
    if (size !== a.size) throw new KilnError(`${file}: size ${size} does not match build.json (${a.size})`);
  }
  for (const e of await readdir(dir)) if (!e.startsWith('.')) await fsyncFile(join(dir, e));

  const fingerprints = { ...record.fingerprints };
  const meta = findArtifact(record, 'incus.meta');
  const pairs: [keyof typeof fingerprints, ReturnType<typeof findArtifact>][] = [
    ['combined_squashfs_sha256', findArtifact(record, 'squashfs')],
    ['combined_rootxz_sha256', findArtifact(record, 'lxc.rootfs')],
    ['combined_sha256', findArtifact(record, 'lxc.rootfs')],
  ];
  const computed = new Map<string, string>();
  if (meta) {
    for (const [key, root] of pairs) {
      if (!root) continue;
      const fp = computed.get(root.name) ?? (await sha256Concat([join(dir, meta.name), join(dir, root.name)]));
      computed.set(root.name, fp);
      const claimed = fingerprints[key];
      if (claimed !== undefined && claimed !== fp) {
        throw new KilnError(`${dir}: build.json ${key} ${claimed} is not sha256(${meta.name} + ${root.name}) = ${fp}`);
      }
      fingerprints[key] = fp;
    }
  }
  return { ...record, fingerprints };
}
