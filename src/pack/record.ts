import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildRecord } from '../pipeline/record.js';
import { sortedJson } from './sorted-json.js';

export const BUILD_RECORD_FILE = 'build.json';

/**
 * Writes `build.json` into `dir`: sorted keys, trailing newline, replaced
 * atomically so a reader (the publisher, `kiln index`) never sees half a file.
 */
export async function writeBuildRecord(dir: string, record: BuildRecord): Promise<string> {
  const path = join(dir, BUILD_RECORD_FILE);
  const tmp = join(dir, `.${BUILD_RECORD_FILE}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, sortedJson(record));
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return path;
}
