import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import type { ArtifactRecord } from '../pipeline/record.js';
import { sha256File, sha256Hex } from './hash.js';
import { readInstalledPackages, spdxDocument } from './sbom.js';
import { aptRepositoryIndexes, lockDocument } from './lock.js';
import { LOCK_FILE } from '../plan/lock.js';
import { KILN_VERSION } from '../util/version.js';
import type { Signer } from './sign.js';
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
  /** Opened before packing so a wrong key fails before the long work. */
  signer: Signer | null;
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
 * What sits beside the archives: the resolved definition, the SBOM,
 * checksums over everything, and with a signing key an armored detached
 * signature for each of them.
 */
export async function writeExtras(ctx: ExtrasContext): Promise<ArtifactRecord[]> {
  const { input, signer } = ctx;
  const added: ArtifactRecord[] = [];
  added.push(
    await writeSmall(
      ctx,
      'image.yaml',
      'definition',
      stringify(input.plan.definition, { sortMapEntries: true, lineWidth: 0 }),
    ),
  );
  const found = await ctx.time('pack.sbom', () =>
    readInstalledPackages(input.rootfs, input.plan.definition.image.distribution, input.sink, ctx.signal),
  );
  const sbom = spdxDocument(input.plan.definition, found, input.sourceDateEpoch);
  added.push(await writeSmall(ctx, 'sbom.spdx.json', 'sbom', sbom));
  if (input.lock) {
    const repositories = input.metadata.aptIndexes ?? (await aptRepositoryIndexes(input.rootfs, ctx.entries));
    const lock = lockDocument(input.plan.definition, KILN_VERSION, input.lock, found, repositories);
    added.push(await writeSmall(ctx, LOCK_FILE, 'lock', lock));
  }
  added.push(await writeSmall(ctx, 'SHA256SUMS', 'checksums', sha256sums([...ctx.artifacts, ...added])));
  if (signer !== null) {
    const signed = [...ctx.artifacts, ...added];
    await ctx.time('pack.sign', async () => {
      for (const a of signed) {
        const asc = ctx.out(`${a.name}.asc`);
        await signer.sign(join(input.outDir, a.name), asc, ctx.signal);
        const { sha256, size } = await sha256File(asc);
        added.push({ name: `${a.name}.asc`, size, sha256, role: 'signature' });
      }
    });
  }
  return added;
}
