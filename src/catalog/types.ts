import type { OutputFormat } from '../pack/types.js';

export interface CatalogEntry {
  /** Absolute path of the definition. */
  definition: string;
  releases?: string[];
  architectures?: string[];
  variants?: string[];
  formats: OutputFormat[];
  options: Record<string, string>;
  releaseOptions: Record<string, Record<string, string>>;
  /** Other names per release (`12` for bookworm), published as aliases. */
  releaseAliases: Record<string, string[]>;
  /** Simplestreams requirements of every product of the entry. */
  requirements: Record<string, string>;
  keep: number;
  /** Absolute directory of per-cell locks (`<cell id>.lock.json`). */
  locks?: string;
}

export interface Catalog {
  file: string;
  keep: number;
  /** How long pruned builds stay on disk, in milliseconds. */
  graceMs: number;
  entries: CatalogEntry[];
}

/** One cell of the matrix: one build. */
export interface Combination {
  /** `dist:release:arch:variant`, what `--only` matches. */
  id: string;
  entry: CatalogEntry;
  distribution: string;
  release: string;
  architecture: string;
  variant: string;
  /** `-o` overrides for this build (without the serial). */
  overrides: string[];
}
