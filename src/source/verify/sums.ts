import type { DigestAlgorithm } from '../hash.js';

export interface SumEntry {
  algorithm: DigestAlgorithm;
  hex: string;
}

const LENGTHS: Record<number, DigestAlgorithm> = { 64: 'sha256', 128: 'sha512' };

/**
 * Parses `sha256sum`/`sha512sum` output (`HEX  name`, `HEX *name`) and the
 * BSD form (`SHA256 (name) = HEX`); the algorithm follows from the length.
 * Names are keyed without a leading `./`.
 */
export function parseSums(text: string): Map<string, SumEntry> {
  const out = new Map<string, SumEntry>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    let hex: string | undefined;
    let name: string | undefined;
    const gnu = /^\\?([0-9a-fA-F]+) [ *](.+)$/.exec(line);
    const bsd = /^(SHA256|SHA512) \((.+)\) = ([0-9a-fA-F]+)$/.exec(line);
    if (gnu) {
      hex = gnu[1];
      name = gnu[2];
    } else if (bsd) {
      name = bsd[2];
      hex = bsd[3];
    }
    if (!hex || !name) continue;
    const algorithm = LENGTHS[hex.length];
    if (!algorithm) continue;
    out.set(name.replace(/^\.\//, ''), { algorithm, hex: hex.toLowerCase() });
  }
  return out;
}

/** The `source.checksum` extension: `sha256:HEX` or `sha512:HEX`. */
export function parseChecksum(value: string): SumEntry | undefined {
  const m = /^(sha256|sha512):([0-9a-fA-F]+)$/.exec(value.trim());
  if (!m) return undefined;
  const algorithm = m[1] as DigestAlgorithm;
  if (LENGTHS[m[2]!.length] !== algorithm) return undefined;
  return { algorithm, hex: m[2]!.toLowerCase() };
}

export function isClearsigned(text: string): boolean {
  return text.trimStart().startsWith('-----BEGIN PGP SIGNED MESSAGE-----');
}
