import type { MirroredItem, ProductId } from '../pipeline/record.js';
import { checkProduct, checkSerial } from '../publish/names.js';
import { MirrorError } from './errors.js';

/** One version (serial) of one upstream product, as its indexes describe it. */
export interface UpstreamVersion {
  product: ProductId;
  /** `dist:release:arch:variant` */
  key: string;
  serial: string;
  /** The version's directory on the upstream, relative to its base (no leading or trailing slash). */
  dir: string;
  os: string;
  releaseTitle: string;
  aliases: string[];
  requirements: Record<string, string>;
  /** Simplestreams items by item key, every file inside `dir`. */
  items: Record<string, MirroredItem>;
  /** Listed in the upstream's LXC index (so it has rootfs.tar.xz and meta.tar.xz). */
  lxc: boolean;
  /** Listed in index-user too. */
  userConfig: boolean;
}

/** File names a mirror writes: one plain name inside the build directory. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,199}$/;

/**
 * An upstream path must stay under the base URL and map to one file of one
 * directory: no `..` or `.` segment, not absolute, no empty segment (`//`),
 * no NUL, backslash or percent-escape, no scheme.
 */
export function checkUpstreamPath(path: string, what: string): string {
  const bad =
    typeof path !== 'string'
      ? 'is not a string'
      : path === ''
        ? 'is empty'
        : path.startsWith('/')
          ? 'is absolute'
          : /[\0\\%?#]/.test(path)
            ? 'holds NUL, a backslash, % or ?#'
            : path.includes('//')
              ? "holds '//'"
              : /^[a-z][a-z0-9+.-]*:/i.test(path)
                ? 'names a scheme'
                : path.split('/').some((s) => s === '..' || s === '.')
                  ? "holds a '..' or '.' segment"
                  : undefined;
  if (bad) throw new MirrorError(`${what}: path ${JSON.stringify(path)} ${bad}; refused, it would leave the tree`);
  return path;
}

function splitPath(path: string, what: string): { dir: string; name: string } {
  checkUpstreamPath(path, what);
  const i = path.lastIndexOf('/');
  const name = path.slice(i + 1);
  if (i < 0 || !FILE_NAME.test(name))
    throw new MirrorError(`${what}: path ${JSON.stringify(path)} is not DIR/FILE with a plain file name`);
  return { dir: path.slice(0, i), name };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, what: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new MirrorError(`${what}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(data)) throw new MirrorError(`${what}: not a JSON object`);
  return data;
}

/** The product files `streams/v1/index.json` names (datatype image-downloads, as LXD and Incus read it). */
export function productFiles(text: string): string[] {
  const what = 'streams/v1/index.json';
  const data = parseJson(text, what);
  if (!isObject(data.index)) throw new MirrorError(`${what}: has no "index" object`);
  const out: string[] = [];
  for (const [name, e] of Object.entries(data.index)) {
    if (!isObject(e) || e.datatype !== 'image-downloads') continue;
    if (typeof e.path !== 'string') throw new MirrorError(`${what}: index entry ${name} has no path`);
    out.push(checkUpstreamPath(e.path, `${what}: index entry ${name}`));
  }
  return out;
}

function productId(key: string, what: string): ProductId {
  const parts = key.split(':');
  if (parts.length !== 4) throw new MirrorError(`${what}: product key '${key}' is not dist:release:arch:variant`);
  const [distribution, release, arch, variant] = parts as [string, string, string, string];
  const p = { distribution, release, arch, variant };
  try {
    checkProduct(p, what);
  } catch (e) {
    throw new MirrorError((e as Error).message);
  }
  return p;
}

const SHA = /^[0-9a-f]{64}$/;

/** Every version of a simplestreams products file, its items checked. */
export function parseProducts(text: string, file: string): UpstreamVersion[] {
  const data = parseJson(text, file);
  if (!isObject(data.products)) throw new MirrorError(`${file}: has no "products" object`);
  const out: UpstreamVersion[] = [];
  for (const [key, prod] of Object.entries(data.products)) {
    const what = `${file}: product ${key}`;
    if (!isObject(prod) || !isObject(prod.versions)) throw new MirrorError(`${what}: has no versions`);
    const product = productId(key, what);
    const requirements: Record<string, string> = {};
    if (isObject(prod.requirements))
      for (const [k, v] of Object.entries(prod.requirements)) if (typeof v === 'string') requirements[k] = v;
    for (const [serial, ver] of Object.entries(prod.versions)) {
      const vwhat = `${key} ${serial}`;
      try {
        checkSerial(serial, vwhat);
      } catch (e) {
        throw new MirrorError((e as Error).message);
      }
      if (!isObject(ver) || !isObject(ver.items)) throw new MirrorError(`${vwhat}: has no items`);
      let dir: string | undefined;
      const items: Record<string, MirroredItem> = {};
      const byName = new Map<string, MirroredItem>();
      for (const [ikey, it] of Object.entries(ver.items)) {
        const iwhat = `${vwhat} item ${ikey}`;
        if (!isObject(it) || typeof it.ftype !== 'string' || typeof it.path !== 'string')
          throw new MirrorError(`${iwhat}: needs ftype and path`);
        if (typeof it.sha256 !== 'string' || !SHA.test(it.sha256) || typeof it.size !== 'number' || it.size < 0)
          throw new MirrorError(`${iwhat}: needs a sha256 and a size; a mirror verifies every file`);
        const p = splitPath(it.path, iwhat);
        if (dir !== undefined && p.dir !== dir)
          throw new MirrorError(`${iwhat}: path ${it.path} is not in the version's directory ${dir}`);
        dir = p.dir;
        const extra: Record<string, string> = {};
        for (const [k, v] of Object.entries(it))
          if (typeof v === 'string' && !['ftype', 'path', 'sha256'].includes(k)) extra[k] = v;
        const item: MirroredItem = { ftype: it.ftype, name: p.name, sha256: it.sha256, size: it.size, extra };
        const same = byName.get(p.name);
        // lxc-ci lists the metadata file twice (incus.tar.xz and lxd.tar.xz): fine when both agree.
        if (same && (same.sha256 !== item.sha256 || same.size !== item.size))
          throw new MirrorError(`${iwhat}: lists ${it.path} a second time with another sha256 or size; refused`);
        byName.set(p.name, item);
        items[ikey] = item;
      }
      if (dir === undefined) continue;
      out.push({
        product,
        key,
        serial,
        dir,
        os: typeof prod.os === 'string' ? prod.os : product.distribution,
        releaseTitle: typeof prod.release_title === 'string' ? prod.release_title : product.release,
        aliases: typeof prod.aliases === 'string' ? prod.aliases.split(',').filter(Boolean) : [],
        requirements,
        items,
        lxc: false,
        userConfig: false,
      });
    }
  }
  return out;
}

export interface LxcLine {
  product: ProductId;
  key: string;
  serial: string;
  dir: string;
}

/** `dist;release;arch;variant;serial;path` lines of `meta/1.0/index-system` (or index-user). */
export function parseLxcIndex(text: string, file: string): LxcLine[] {
  const out: LxcLine[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const what = `${file}:${i + 1}`;
    const f = line.split(';');
    if (f.length !== 6) throw new MirrorError(`${what}: not 'dist;release;arch;variant;serial;path'`);
    const key = f.slice(0, 4).join(':');
    const product = productId(key, what);
    const serial = f[4]!;
    try {
      checkSerial(serial, what);
    } catch (e) {
      throw new MirrorError((e as Error).message);
    }
    // lxc-ci writes `/images/.../SERIAL/`: one leading and one trailing slash belong to the format.
    const dir = checkUpstreamPath(f[5]!.replace(/^\//, '').replace(/\/$/, ''), what);
    if (seen.has(key)) throw new MirrorError(`${what}: lists ${key} a second time; refused`);
    seen.add(key);
    out.push({ product, key, serial, dir });
  });
  return out;
}

/** `sha256sum` lines of an upstream SHA256SUMS: name -> sha256; a name twice is refused. */
export function parseSums(text: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m || !FILE_NAME.test(m[2]!)) throw new MirrorError(`${what}:${i + 1}: not a 'SHA256  NAME' line`);
    if (out.has(m[2]!)) throw new MirrorError(`${what}:${i + 1}: lists ${m[2]} a second time; refused`);
    out.set(m[2]!, m[1]!.toLowerCase());
  });
  return out;
}

/**
 * Joins both protocols: a version the LXC index names is marked `lxc` (its
 * directory must be the one simplestreams gives); one only in the LXC index
 * becomes a version with no simplestreams items.
 */
export function mergeIndexes(versions: UpstreamVersion[], system: LxcLine[], user: LxcLine[]): UpstreamVersion[] {
  const byId = new Map(versions.map((v) => [`${v.key} ${v.serial}`, v]));
  const userKeys = new Set(user.map((l) => `${l.key} ${l.serial}`));
  for (const l of system) {
    const id = `${l.key} ${l.serial}`;
    let v = byId.get(id);
    if (v && v.dir !== l.dir)
      throw new MirrorError(
        `meta/1.0/index-system: ${id} is in ${l.dir}, simplestreams says ${v.dir}; refused, the indexes disagree`,
      );
    if (!v) {
      v = {
        product: l.product,
        key: l.key,
        serial: l.serial,
        dir: l.dir,
        os: l.product.distribution,
        releaseTitle: l.product.release,
        aliases: [],
        requirements: {},
        items: {},
        lxc: false,
        userConfig: false,
      };
      byId.set(id, v);
    }
    v.lxc = true;
    v.userConfig = userKeys.has(id);
  }
  return [...byId.values()];
}
