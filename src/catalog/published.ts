import { readFile } from 'node:fs/promises';
import got from 'got';
import type { BuildRecord } from '../pipeline/record.js';
import { compareSerials, productKey } from '../publish/names.js';
import type { StreamImages } from '../publish/simplestreams.js';
import { parseBuildRecord } from '../publish/tree-scan.js';
import { KilnError } from '../util/errors.js';
import { newestPublished } from './run.js';

/** Where the published tree is: a directory here, or the image server that serves it. */
export function isServerUrl(against: string): boolean {
  return /^https?:\/\//.test(against);
}

/**
 * The newest published build of each product, by product key, read from a
 * tree directory or over HTTP(S) from the server that serves it: a worker
 * with no copy of the tree judges "unchanged" exactly as the publisher
 * would. Over HTTP the build directories come from the indexes clients read
 * (simplestreams for Incus/LXD builds, the LXC index for the others) and each
 * newest build's build.json is fetched.
 */
export async function readPublished(
  against: string,
  opts: { ca?: string | undefined } = {},
): Promise<Map<string, BuildRecord>> {
  if (!isServerUrl(against)) return newestPublished(against);
  const base = against.endsWith('/') ? against : `${against}/`;
  const ca = opts.ca !== undefined ? await readFile(opts.ca) : undefined;
  const client = got.extend({
    timeout: { request: 30_000 },
    retry: { limit: 2 },
    ...(ca ? { https: { certificateAuthority: ca } } : {}),
  });
  const fetchText = async (rel: string, optional: boolean): Promise<string | undefined> => {
    const url = new URL(rel, base).toString();
    try {
      const r = await client.get(url, { throwHttpErrors: false });
      if (r.statusCode === 404 && optional) return undefined;
      if (r.statusCode !== 200) throw new KilnError(`${url}: HTTP ${r.statusCode}`);
      return r.body;
    } catch (e) {
      if (e instanceof KilnError) throw e;
      throw new KilnError(`cannot read the published tree at ${url}: ${(e as Error).message}`, { cause: e });
    }
  };
  // Build directories, newest serial per product path (images/d/r/a/v).
  const newestDir = new Map<string, string>();
  const note = (dir: string): void => {
    const m = /^\/?(images\/[^/]+\/[^/]+\/[^/]+\/[^/]+)\/([^/]+)\/?$/.exec(dir);
    if (!m) return;
    const [, product, serial] = m as unknown as [string, string, string];
    const seen = newestDir.get(product);
    if (seen === undefined || compareSerials(serial, seen) > 0) newestDir.set(product, serial);
  };
  const streams = await fetchText('streams/v1/images.json', true);
  if (streams !== undefined) {
    let images: StreamImages;
    try {
      images = JSON.parse(streams) as StreamImages;
    } catch {
      throw new KilnError(`${base}streams/v1/images.json: not valid JSON`);
    }
    for (const p of Object.values(images.products ?? {}))
      for (const v of Object.values(p.versions ?? {}))
        for (const item of Object.values(v.items ?? {})) note(item.path.slice(0, item.path.lastIndexOf('/')));
  }
  for (const index of ['meta/1.0/index-system', 'meta/1.0/index-user']) {
    const text = await fetchText(index, true);
    for (const line of (text ?? '').split('\n')) {
      const dir = line.split(';')[5];
      if (dir) note(dir);
    }
  }
  const out = new Map<string, BuildRecord>();
  for (const [product, serial] of newestDir) {
    const rel = `${product}/${serial}/build.json`;
    const text = await fetchText(rel, true);
    if (text === undefined) continue;
    const record = parseBuildRecord(text, `${base}${rel}`);
    const key = productKey(record.product);
    const prev = out.get(key);
    if (!prev || compareSerials(record.serial, prev.serial) > 0) out.set(key, record);
  }
  return out;
}
