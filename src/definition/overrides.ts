import type { Diagnostic } from '../util/errors.js';
import { joinPath } from './decode.js';
import type { ObjectSchema, SchemaNode } from './schema.js';
import { didYouMean } from './suggest.js';
import { overrideScalar, type MapNode, type Pos, type TreeNode } from './yaml-tree.js';

/**
 * `-o key=value` overrides, applied to the parsed tree before validation so
 * that an overridden value is checked like a written one (and a bad value is
 * reported against the option that set it).
 *
 * Differences from distrobuilder, on purpose: the option is split at the
 * first `=` only (values may contain `=`), it is never split at `,`, list
 * elements may be written `sets.2` or `sets[2]`, unknown keys are reported
 * with a suggestion, and missing parent maps are created.
 */
export interface OverrideResult {
  root: TreeNode;
  diagnostics: Diagnostic[];
}

interface Segment {
  key: string;
  index?: number;
  /** Offset of the segment in the option string. */
  at: number;
}

function parseKey(key: string): Segment[] | string {
  const out: Segment[] = [];
  const re = /([^.[\]]+)|\[(\d*)\]|\./g;
  let m: RegExpExecArray | null;
  let expectName = true;
  let lastEnd = 0;
  while ((m = re.exec(key)) !== null) {
    if (m.index !== lastEnd) return `unexpected character at '${key.slice(lastEnd)}'`;
    lastEnd = re.lastIndex;
    if (m[0] === '.') {
      if (expectName) return 'empty key segment';
      expectName = true;
      continue;
    }
    if (m[1] !== undefined) {
      if (!expectName) return `missing '.' before '${m[1]}'`;
      out.push(/^\d+$/.test(m[1]) ? { key: m[1], index: Number(m[1]), at: m.index } : { key: m[1], at: m.index });
      expectName = false;
    } else {
      if (m[2] === '' || out.length === 0) return 'a list index must follow a key, as in packages.sets[0]';
      out.push({ key: m[2]!, index: Number(m[2]), at: m.index + 1 });
      expectName = false;
    }
  }
  if (lastEnd !== key.length) return `unexpected character at '${key.slice(lastEnd)}'`;
  if (expectName) return out.length === 0 ? 'empty key' : 'the key ends with a dot';
  return out;
}

const isLeaf = (s: SchemaNode): boolean => s.type === 'string' || s.type === 'boolean' || s.type === 'integer';

export function applyOverrides(
  root: TreeNode | null,
  overrides: readonly string[],
  schema: ObjectSchema,
  file: string,
): OverrideResult {
  const diagnostics: Diagnostic[] = [];
  const top: TreeNode = root ?? { kind: 'map', entries: [], pos: { file, line: 1, col: 1 } };
  for (const option of overrides) {
    const eq = option.indexOf('=');
    const optPos = (at: number): Pos => ({ file: `-o ${option}`, line: 1, col: at + 1 });
    const fail = (at: number, path: string, message: string): void => {
      diagnostics.push({ ...optPos(at), path, message });
    };
    if (eq < 0) {
      fail(0, '', 'expected KEY=VALUE, such as image.release=noble');
      continue;
    }
    const key = option.slice(0, eq);
    const value = option.slice(eq + 1);
    const segs = parseKey(key);
    if (typeof segs === 'string') {
      fail(0, '', `bad key '${key}': ${segs}`);
      continue;
    }
    let node: TreeNode = top;
    let s: SchemaNode = schema;
    let path = '';
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const last = i === segs.length - 1;
      if (s.type === 'array') {
        if (seg.index === undefined) {
          fail(seg.at, path, `${path} is a list; give an index, as in ${path}.0`);
          break;
        }
        if (node.kind !== 'seq') {
          fail(seg.at, path, `${path} is not set in the file, so it has no entry ${seg.index}`);
          break;
        }
        const childPath = joinPath(path, seg.index);
        if (seg.index >= node.items.length) {
          fail(
            seg.at,
            childPath,
            `index ${seg.index} is out of range: ${path} has ${node.items.length} ${node.items.length === 1 ? 'entry' : 'entries'}`,
          );
          break;
        }
        if (last) {
          if (!isLeaf(s.items)) {
            fail(
              seg.at,
              childPath,
              `${childPath} is a map; set one of its keys, as in ${childPath}.${Object.keys((s.items as ObjectSchema).properties ?? {})[0] ?? 'key'}`,
            );
            break;
          }
          node.items[seg.index] = overrideScalar(value, option, eq + 1);
          break;
        }
        node = node.items[seg.index]!;
        s = s.items;
        path = childPath;
        continue;
      }
      if (s.type === 'object' || s.type === 'map') {
        const childPath = joinPath(path, seg.key);
        let child: SchemaNode | undefined;
        if (s.type === 'object') {
          child = Object.prototype.hasOwnProperty.call(s.properties, seg.key) ? s.properties[seg.key] : undefined;
          if (!child) {
            const allowed = Object.keys(s.properties);
            fail(
              seg.at,
              childPath,
              `unknown key '${seg.key}'${path === '' ? '' : ` in ${path}`}${didYouMean(seg.key, allowed)}; allowed: ${allowed.join(', ')}`,
            );
            break;
          }
        } else {
          child = s.values;
        }
        if (node.kind !== 'map') {
          fail(seg.at, path, `${path} is not a map in the file, so ${childPath} cannot be set`);
          break;
        }
        const map: MapNode = node;
        let entry = map.entries.find((e) => e.key === seg.key);
        if (last) {
          if (!isLeaf(child)) {
            const hint =
              child.type === 'array'
                ? `give an index, as in ${childPath}.0`
                : child.type === 'object'
                  ? `set one of its keys, as in ${childPath}.${Object.keys(child.properties)[0]}`
                  : `set one of its keys, as in ${childPath}.NAME`;
            fail(seg.at, childPath, `${childPath} is ${child.type === 'array' ? 'a list' : 'a map'}; ${hint}`);
            break;
          }
          const scalar = overrideScalar(value, option, eq + 1);
          if (entry) entry.value = scalar;
          else map.entries.push({ key: seg.key, keyPos: optPos(seg.at), value: scalar });
          break;
        }
        if (!entry) {
          if (child.type === 'array') {
            fail(seg.at, childPath, `${childPath} is not set in the file, so it has no entry ${segs[i + 1]!.key}`);
            break;
          }
          entry = { key: seg.key, keyPos: optPos(seg.at), value: { kind: 'map', entries: [], pos: optPos(seg.at) } };
          map.entries.push(entry);
        } else if (entry.value.kind === 'scalar' && entry.value.isNull && child.type !== 'array') {
          entry.value = { kind: 'map', entries: [], pos: entry.value.pos };
        }
        node = entry.value;
        s = child;
        path = childPath;
        continue;
      }
      fail(
        seg.at,
        path,
        `${path} is ${s.type === 'string' ? 'a string' : s.type === 'boolean' ? 'a boolean' : 'an integer'}; it has no key '${seg.key}'`,
      );
      break;
    }
  }
  return { root: top, diagnostics };
}
