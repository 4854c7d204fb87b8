import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  Scalar,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { Diagnostic } from '../util/errors.js';
import { checkFlowDepth, DEFINITION_LIMITS } from './input-limits.js';

/**
 * A YAML document reduced to what validation needs: maps, sequences and
 * scalars, each with the position it came from. Scalars keep their source
 * text (the YAML "failsafe" reading), because distrobuilder's yaml.v2
 * decodes a plain scalar into a string field as written: `same_as: 3.20`
 * is "3.20", `mode: 0600` is "0600", `cmd: true` is "true".
 */
export interface Pos {
  file: string;
  line: number;
  col: number;
}

export type ScalarStyle = 'plain' | 'single' | 'double' | 'literal' | 'folded' | 'override';

export interface ScalarNode {
  kind: 'scalar';
  value: string;
  style: ScalarStyle;
  /** A plain `~`, `null` or empty value: decodes to the zero value. */
  isNull: boolean;
  pos: Pos;
  /** Maps an offset in `value` to a source position (templates report through it). */
  posAt(offset: number): Pos;
}

export interface MapEntry {
  key: string;
  keyPos: Pos;
  value: TreeNode;
}

export interface MapNode {
  kind: 'map';
  entries: MapEntry[];
  pos: Pos;
}

export interface SeqNode {
  kind: 'seq';
  items: TreeNode[];
  pos: Pos;
}

export type TreeNode = ScalarNode | MapNode | SeqNode;

export interface ParsedTree {
  /** null when the YAML itself is broken (then `diagnostics` says why). */
  root: TreeNode | null;
  diagnostics: Diagnostic[];
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);

/** Parses `text` strictly: syntax errors, duplicate keys, bad aliases and complex keys are diagnostics. */
export function parseTree(text: string, file: string): ParsedTree {
  const lc = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const posOf = (offset: number): Pos => {
    const lp = lc.linePos(offset);
    return { file, line: lp.line, col: lp.col };
  };
  let doc: Document.Parsed;
  const tooDeep = checkFlowDepth(text, file);
  if (tooDeep.length > 0) return { root: null, diagnostics: tooDeep };
  try {
    const docs = parseAll(text, lc);
    if (docs.length > 1) {
      const second = docs[1]!;
      diagnostics.push({
        ...posOf(second.range[0]),
        path: '',
        message: 'a definition is a single YAML document; remove the second document',
      });
    }
    if (docs.length === 0)
      return {
        root: null,
        diagnostics: [
          {
            file,
            line: 1,
            col: 1,
            path: '',
            message: 'the file is empty; a definition needs at least image and source',
          },
        ],
      };
    doc = docs[0]!;
  } catch (e) {
    return {
      root: null,
      diagnostics: [{ file, line: 1, col: 1, path: '', message: `cannot parse YAML: ${(e as Error).message}` }],
    };
  }
  for (const err of doc.errors) {
    const first = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    diagnostics.push({ ...posOf(err.pos[0]), path: '', message: `YAML syntax error: ${first}` });
  }
  if (diagnostics.length > 0) return { root: null, diagnostics };

  const aliasDepth = { n: 0 };
  // Aliases are expanded into copies; a few nested ones can multiply into
  // billions of nodes ("billion laughs"), so the total is capped.
  const budget = { nodes: 0, reported: false };
  const MAX_NODES = 200_000;
  const convert = (node: YamlNode | null | undefined, fallbackOffset: number, path: string, depth = 0): TreeNode => {
    if (depth > DEFINITION_LIMITS.depth) {
      const at = node?.range?.[0] ?? fallbackOffset;
      if (!budget.reported)
        diagnostics.push({
          ...posOf(at),
          path,
          message: `lists and maps nested deeper than ${DEFINITION_LIMITS.depth} levels`,
        });
      budget.reported = true;
      return scalar('', 'plain', true, posOf(at), posOf);
    }
    if (node === null || node === undefined) {
      return scalar('', 'plain', true, posOf(fallbackOffset), posOf);
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) {
        diagnostics.push({
          ...posOf(node.range?.[0] ?? fallbackOffset),
          path: '',
          message: `unknown alias '*${node.source}'`,
        });
        return scalar('', 'plain', true, posOf(node.range?.[0] ?? fallbackOffset), posOf);
      }
      // Aliases to ancestors would recurse forever; yaml.v2 rejects them too.
      if (aliasDepth.n > 50) {
        diagnostics.push({
          ...posOf(node.range?.[0] ?? fallbackOffset),
          path: '',
          message: 'alias nesting is too deep (recursive alias?)',
        });
        return scalar('', 'plain', true, posOf(node.range?.[0] ?? fallbackOffset), posOf);
      }
      aliasDepth.n++;
      try {
        return convert(target, node.range?.[0] ?? fallbackOffset, path, depth + 1);
      } finally {
        aliasDepth.n--;
      }
    }
    const start = node.range?.[0] ?? fallbackOffset;
    if (++budget.nodes > MAX_NODES) {
      if (!budget.reported)
        diagnostics.push({
          ...posOf(start),
          path,
          message: `the document expands to more than ${MAX_NODES} values (aliases repeated too often)`,
        });
      budget.reported = true;
      return scalar('', 'plain', true, posOf(start), posOf);
    }
    if (isMap(node)) {
      const entries: MapEntry[] = [];
      const seen = new Map<string, Pos>();
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyOffset = keyNode?.range?.[0] ?? start;
        if (keyNode !== null && !isScalar(keyNode)) {
          diagnostics.push({ ...posOf(keyOffset), path, message: 'a key must be a plain string, not a list or a map' });
          continue;
        }
        const key = keyNode === null ? '' : scalarText(keyNode.value);
        const keyPos = posOf(keyOffset);
        const first = seen.get(key);
        if (first) {
          diagnostics.push({
            ...keyPos,
            path: path === '' ? key : `${path}.${key}`,
            message: `duplicate key '${key}' (first defined at line ${first.line}, column ${first.col})`,
          });
          continue;
        }
        seen.set(key, keyPos);
        const valueOffset = keyNode?.range?.[2] ?? keyOffset;
        entries.push({
          key,
          keyPos,
          value: convert(pair.value as YamlNode | null, valueOffset, path === '' ? key : `${path}.${key}`, depth + 1),
        });
      }
      return { kind: 'map', entries: mergeKeys(entries, path), pos: posOf(start) };
    }
    if (isSeq(node)) {
      return {
        kind: 'seq',
        items: node.items.map((it, i) => convert(it as YamlNode | null, start, `${path}[${i}]`, depth + 1)),
        pos: posOf(start),
      };
    }
    if (isScalar(node)) {
      const s = node;
      const style = styleOf(s.type);
      const value = scalarText(s.value);
      // A double-quoted "\0" decodes to NUL, which the raw-text check cannot see.
      if (value.includes('\0'))
        diagnostics.push({ ...posOf(start), path, message: 'a NUL character in a value; values may not hold NUL' });
      const isNull = style === 'plain' && NULLS.has(value);
      return scalar(isNull ? '' : value, style, isNull, posOf(start), posOf, text, start);
    }
    return scalar('', 'plain', true, posOf(start), posOf);
  };

  /**
   * YAML 1.1 merge keys (`<<: *base`, `<<: [*a, *b]`), which yaml.v2 and
   * so distrobuilder honour: keys written in the map win over merged ones,
   * and earlier merged maps over later ones.
   */
  const mergeKeys = (entries: MapEntry[], path: string): MapEntry[] => {
    const merges = entries.filter((e) => e.key === '<<');
    if (merges.length === 0) return entries;
    const out = entries.filter((e) => e.key !== '<<');
    const have = new Set(out.map((e) => e.key));
    for (const m of merges) {
      const sources = m.value.kind === 'seq' ? m.value.items : [m.value];
      for (const src of sources) {
        if (src.kind !== 'map') {
          diagnostics.push({
            ...src.pos,
            path: path === '' ? '<<' : `${path}.<<`,
            message: 'a merge key (<<) needs a map or a list of maps',
          });
          continue;
        }
        for (const e of src.entries) {
          if (have.has(e.key)) continue;
          have.add(e.key);
          out.push(e);
        }
      }
    }
    return out;
  };

  // Problems found while converting (duplicate keys, bad aliases) do not stop
  // validation: the rest of the file is still checked.
  const root = convert(doc.contents, 0, '');
  return { root, diagnostics };
}

function parseAll(text: string, lc: LineCounter): Document.Parsed[] {
  const docs = parseAllDocuments(text, {
    schema: 'failsafe',
    lineCounter: lc,
    uniqueKeys: false,
    prettyErrors: false,
    strict: true,
  });
  return Array.isArray(docs) ? (docs as Document.Parsed[]) : [];
}

function styleOf(t: Scalar['type']): ScalarStyle {
  switch (t) {
    case 'QUOTE_SINGLE':
      return 'single';
    case 'QUOTE_DOUBLE':
      return 'double';
    case 'BLOCK_LITERAL':
      return 'literal';
    case 'BLOCK_FOLDED':
      return 'folded';
    default:
      return 'plain';
  }
}

function scalar(
  value: string,
  style: ScalarStyle,
  isNull: boolean,
  pos: Pos,
  posOf: (o: number) => Pos,
  text?: string,
  start?: number,
): ScalarNode {
  return {
    kind: 'scalar',
    value,
    style,
    isNull,
    pos,
    posAt: (offset: number) =>
      text === undefined || start === undefined ? pos : scalarOffsetPos(text, start, style, value, offset, pos, posOf),
  };
}

/**
 * Source position of `offset` inside a scalar's value. Exact for single-line
 * plain/quoted scalars without escapes and for literal blocks (`|`, `|-`);
 * other styles fall back to the scalar's start.
 */
function scalarOffsetPos(
  text: string,
  start: number,
  style: ScalarStyle,
  value: string,
  offset: number,
  pos: Pos,
  posOf: (o: number) => Pos,
): Pos {
  if (style === 'plain' || style === 'single' || style === 'double') {
    if (value.includes('\n')) return pos;
    const q = style === 'plain' ? 0 : 1;
    const src = text.slice(start + q, start + q + value.length);
    if (src !== value) return pos;
    return posOf(start + q + offset);
  }
  if (style === 'literal') {
    const before = value.slice(0, offset);
    const lineIdx = before.split('\n').length - 1;
    const colInLine = offset - (before.lastIndexOf('\n') + 1);
    // Content starts on the line after the `|` indicator.
    const nl = text.indexOf('\n', start);
    if (nl < 0) return pos;
    let cursor = nl + 1;
    const lines = text.slice(cursor).split('\n');
    let indent = -1;
    for (const l of lines) {
      if (l.trim() !== '') {
        indent = l.length - l.trimStart().length;
        break;
      }
    }
    if (indent < 0) return pos;
    for (let i = 0; i < lineIdx && i < lines.length; i++) cursor += lines[i]!.length + 1;
    return posOf(cursor + indent + colInLine);
  }
  return pos;
}

/** A scalar created by a `-o key=value` override: its position is in the option itself. */
export function overrideScalar(value: string, option: string, valueOffset: number): ScalarNode {
  const pos: Pos = { file: `-o ${option}`, line: 1, col: valueOffset + 1 };
  return {
    kind: 'scalar',
    value,
    style: 'override',
    isNull: false,
    pos,
    posAt: (offset: number) => ({ ...pos, col: valueOffset + offset + 1 }),
  };
}

/** The text of a YAML scalar's value (string, number, boolean or null). */
export function scalarText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? '';
}
