import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { machine } from 'node:os';
import { productArchitecture } from '../definition/index.js';
import { scalarText } from '../definition/yaml-tree.js';
import { changedInputs, type InputParts } from '../pipeline/input-digest.js';
import type { BuildRecord } from '../pipeline/record.js';
import type { Catalog, CatalogEntry, Combination } from './types.js';

interface ImageDefaults {
  distribution: string;
  release?: string;
  architecture?: string;
  variant?: string;
}

/**
 * The image keys a definition sets itself. Read loosely: a broken definition
 * still yields its cells, whose builds then fail with the full diagnostics.
 */
function imageDefaults(file: string): ImageDefaults {
  const fallback = path.basename(file).replace(/\.ya?ml$/, '');
  try {
    const doc = parse(readFileSync(file, 'utf8')) as { image?: Record<string, unknown> } | null;
    const image = doc?.image ?? {};
    const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : scalarText(v));
    const out: ImageDefaults = { distribution: str(image.distribution) ?? fallback };
    const release = str(image.release);
    const architecture = str(image.architecture);
    const variant = str(image.variant);
    if (release !== undefined) out.release = release;
    if (architecture !== undefined) out.architecture = architecture;
    if (variant !== undefined) out.variant = variant;
    return out;
  } catch {
    return { distribution: fallback };
  }
}

/** The architecture name clients use (amd64, arm64, ...) for a name as written, or the host's. */
function clientArch(arch: string | undefined): string {
  return productArchitecture(arch ?? machine());
}

function entryCombinations(entry: CatalogEntry): Combination[] {
  const d = imageDefaults(entry.definition);
  const releases = entry.releases ?? [d.release ?? ''];
  const architectures = entry.architectures ?? [d.architecture ?? clientArch(undefined)];
  const variants = entry.variants ?? [d.variant ?? 'default'];
  const out: Combination[] = [];
  for (const release of releases) {
    for (const architecture of architectures) {
      for (const variant of variants) {
        const options = { ...entry.options, ...(entry.releaseOptions[release] ?? {}) };
        out.push({
          id: `${d.distribution}:${release}:${clientArch(architecture)}:${variant}`,
          entry,
          distribution: d.distribution,
          release,
          architecture,
          variant,
          overrides: [
            ...Object.entries(options).map(([k, v]) => `${k}=${v}`),
            ...(release !== '' ? [`image.release=${release}`] : []),
            `image.architecture=${architecture}`,
            `image.variant=${variant}`,
          ],
        });
      }
    }
  }
  return out;
}

/** `*` matches any run of characters within the pattern; several patterns are separated by commas. */
export function matchesOnly(id: string, only: string | undefined): boolean {
  if (!only) return true;
  return only.split(',').some((p) => {
    const re = new RegExp(
      `^${p
        .trim()
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    // A short pattern such as `debian` or `debian:bookworm` matches every cell below it.
    return re.test(id) || re.test(id.split(':').slice(0, p.split(':').length).join(':'));
  });
}

/** Every combination of the catalog, in catalog order; duplicates (same id) are kept once. */
export function expandCatalog(catalog: Catalog, only?: string): Combination[] {
  const seen = new Set<string>();
  const out: Combination[] = [];
  for (const entry of catalog.entries) {
    for (const c of entryCombinations(entry)) {
      if (seen.has(c.id) || !matchesOnly(c.id, only)) continue;
      seen.add(c.id);
      out.push(c);
    }
  }
  return out;
}

/** How a cell's builds are named and described in the index, beyond the definition. */
export function publicationOf(c: Combination): { releaseAliases: string[]; requirements: Record<string, string> } {
  return { releaseAliases: c.entry.releaseAliases[c.release] ?? [], requirements: c.entry.requirements };
}

/** Why a cell is (re)built: nothing published yet, --force, or each changed input. */
export function rebuildReasons(previous: BuildRecord | undefined, now: InputParts, force: boolean): string[] {
  if (!previous) return ['nothing published yet'];
  if (force && previous.inputDigest === undefined) return ['--force'];
  const changed =
    previous.inputDigest === undefined
      ? ['the published build does not record its inputs']
      : changedInputs(previous.inputParts, now);
  return force && changed.length === 0 ? ['--force'] : changed;
}
