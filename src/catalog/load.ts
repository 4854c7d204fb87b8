import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decode } from '../definition/decode.js';
import { parseTree, type Pos } from '../definition/yaml-tree.js';
import { parseDuration } from '../publish/index.js';
import { DefinitionError, KilnError } from '../util/errors.js';
import type { OutputFormat } from '../pack/types.js';
import { CATALOG_SCHEMA } from './schema.js';
import type { Catalog } from './types.js';

interface RawEntry {
  definition: string;
  releases?: string[];
  architectures?: string[];
  variants?: string[];
  formats?: OutputFormat[];
  options?: Record<string, string>;
  release_options?: Record<string, Record<string, string>>;
  release_aliases?: Record<string, string[]>;
  requirements?: Record<string, string>;
  keep?: number;
  locks?: string;
}

function graceOf(text: string | undefined, pos: Pos | undefined, file: string): number {
  if (text === undefined) return 6 * 3_600_000;
  try {
    return parseDuration(text, 'grace');
  } catch (e) {
    const at = pos ?? { file, line: 1, col: 1 };
    throw new DefinitionError([
      {
        file: at.file,
        line: at.line,
        col: at.col,
        path: 'grace',
        message: (e as Error).message.replace(/^grace: /, ''),
      },
    ]);
  }
}

/** Reads and checks a catalog file; every problem is reported with its position. */
export async function loadCatalog(file: string): Promise<Catalog> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new KilnError(
      `cannot read catalog ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  const parsed = parseTree(text, file);
  if (parsed.diagnostics.length > 0) throw new DefinitionError(parsed.diagnostics);
  const decoded = decode(parsed.root, CATALOG_SCHEMA, file);
  if (decoded.diagnostics.length > 0) throw new DefinitionError(decoded.diagnostics);
  const raw = decoded.value as { keep?: number; grace?: string; images: RawEntry[] };
  const keep = raw.keep ?? 3;
  const dir = path.dirname(path.resolve(file));
  return {
    file,
    keep,
    graceMs: graceOf(raw.grace, decoded.positions.get('grace'), file),
    entries: raw.images.map((e) => ({
      definition: path.resolve(dir, e.definition),
      ...(e.releases ? { releases: e.releases } : {}),
      ...(e.architectures ? { architectures: e.architectures } : {}),
      ...(e.variants ? { variants: e.variants } : {}),
      formats: e.formats ?? ['lxc', 'incus'],
      options: e.options ?? {},
      releaseOptions: e.release_options ?? {},
      releaseAliases: e.release_aliases ?? {},
      requirements: e.requirements ?? {},
      keep: e.keep ?? keep,
      ...(e.locks !== undefined ? { locks: path.resolve(dir, e.locks) } : {}),
    })),
  };
}
