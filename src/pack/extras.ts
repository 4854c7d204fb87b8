import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { stringify } from 'yaml';
import type { ArtifactRecord } from '../build/record.js';
import { sha256Hex } from './hash.js';
import type { PackInput } from './types.js';
import type { RootEntry } from './walk.js';

export interface ExtrasContext {
  input: PackInput;
  entries: RootEntry[];
  /** The archives written so far. */
  artifacts: ArtifactRecord[];
  out: (name: string) => string;
  time: <T>(name: string, f: () => Promise<T>) => Promise<T>;
  signal: AbortSignal;
}

async function writeSmall(ctx: ExtrasContext, name: string, role: string, content: string): Promise<ArtifactRecord> {
  const path = ctx.out(name);
  await writeFile(path, content, { flag: 'wx' });
  return { name: basename(path), size: Buffer.byteLength(content), sha256: sha256Hex(content), role };
}

/** `sha256sum` format, sorted by name, so `sha256sum -c SHA256SUMS` checks the directory. */
export function sha256sums(artifacts: ArtifactRecord[]): string {
  return [...artifacts]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((a) => `${a.sha256}  ${a.name}\n`)
    .join('');
}

/**
 * What sits beside the archives: the resolved definition, checksums over
 * everything.
 */
export async function writeExtras(ctx: ExtrasContext): Promise<ArtifactRecord[]> {
  const added: ArtifactRecord[] = [];
  added.push(
    await writeSmall(ctx, 'image.yaml', 'definition', stringify(ctx.input.plan.definition, { sortMapEntries: true, lineWidth: 0 })),
  );
  const sums = await ctx.time('pack.checksums', () => writeSmall(ctx, 'SHA256SUMS', 'checksums', sha256sums([...ctx.artifacts, ...added])));
  added.push(sums);
  return added;
}
