import type { Diagnostic } from '../util/errors.js';
import type { ArraySchema, IntegerSchema, MapSchema, ObjectSchema, SchemaNode, StringSchema } from './schema.js';
import { didYouMean } from './suggest.js';
import type { Pos, ScalarNode, TreeNode } from './yaml-tree.js';

/**
 * Checks a parsed tree against the schema and turns it into plain values.
 * Every problem becomes a diagnostic; decoding continues past it so that all
 * problems of a file are reported at once.
 */
export interface Decoded {
  value: Record<string, unknown>;
  diagnostics: Diagnostic[];
  /** Key path -> where its value was written (for later checks and templates). */
  positions: Map<string, Pos>;
  /** Key path -> where its key was written (list entries: where the entry starts). */
  keyPositions: Map<string, Pos>;
  /** Key path -> the scalar a string came from (templates map offsets through it). */
  scalars: Map<string, ScalarNode>;
}

const YAML_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const YAML_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
// Go's strconv.ParseBool, which distrobuilder uses for `-o` values.
const OPT_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const OPT_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function describeSchema(s: SchemaNode): string {
  switch (s.type) {
    case 'string':
      return 'a string';
    case 'boolean':
      return 'a boolean (true or false)';
    case 'integer':
      return s.minimum === undefined
        ? 'an integer'
        : s.minimum === 0
          ? 'a non-negative integer'
          : s.minimum === 1
            ? 'a positive integer'
            : `an integer of at least ${s.minimum}`;
    case 'array':
      return s.items.type === 'string' ? 'a list of strings' : s.items.type === 'object' ? 'a list of maps' : 'a list';
    case 'object':
      return 'a map';
    case 'map':
      return 'a map of strings';
  }
}

/** A value as messages show it: one line, at most 40 characters. */
export function shortValue(value: string): string {
  const first = value.split('\n')[0]!;
  return first.length > 40 ? `${first.slice(0, 37)}...` : first === value ? value : `${first}...`;
}

function describeNode(n: TreeNode): string {
  if (n.kind === 'map') return 'a map';
  if (n.kind === 'seq') return 'a list';
  const v = shortValue(n.value);
  if (n.style === 'single' || n.style === 'double') return `the quoted string '${v}'`;
  if (n.style === 'literal' || n.style === 'folded') return 'a block of text';
  return `'${v}'`;
}

export function decode(root: TreeNode | null, schema: ObjectSchema, file: string): Decoded {
  const diagnostics: Diagnostic[] = [];
  const positions = new Map<string, Pos>();
  const keyPositions = new Map<string, Pos>();
  const scalars = new Map<string, ScalarNode>();
  const report = (pos: Pos, path: string, message: string): void => {
    diagnostics.push({ file: pos.file, line: pos.line, col: pos.col, path, message });
  };

  const walk = (node: TreeNode, s: SchemaNode, path: string): unknown => {
    positions.set(path, node.pos);
    // A null scalar is the zero value: the key behaves as if absent.
    if (node.kind === 'scalar' && node.isNull && s.type !== 'string') return undefined;
    switch (s.type) {
      case 'string':
        return walkString(node, s, path);
      case 'boolean':
        return walkBoolean(node, path);
      case 'integer':
        return walkInteger(node, s, path);
      case 'array':
        return walkArray(node, s, path);
      case 'object':
        return walkObject(node, s, path);
      case 'map':
        return walkMap(node, s, path);
    }
  };

  const walkString = (node: TreeNode, s: StringSchema, path: string): string | undefined => {
    if (node.kind !== 'scalar') {
      report(node.pos, path, `expected ${describeSchema(s)}, got ${describeNode(node)}`);
      return undefined;
    }
    scalars.set(path, node);
    const v = node.value;
    if (node.isNull) {
      if (s.nonBlank && /\[\d+\]$/.test(path)) report(node.pos, path, 'must not be empty');
      return undefined;
    }
    if (s.nonBlank && v.trim() === '') {
      report(node.pos, path, 'must not be empty');
      return v;
    }
    // An empty value means "not set" (distrobuilder's defaults test for ""), so `-o image.architecture=` picks the host's.
    if (s.enum && v === '') return undefined;
    if (s.enum && !s.enum.includes(v)) {
      const note = s.enumNotes?.[v];
      const shown = shortValue(v);
      report(
        node.pos,
        path,
        `unknown value '${shown}'${note ? `: ${note}` : didYouMean(v, s.enum)}; allowed: ${s.enum.join(', ')}`,
      );
      return v;
    }
    if (s.pattern && !new RegExp(s.pattern.regex).test(v)) {
      report(node.pos, path, `${describeNode(node)} is not ${s.pattern.hint}`);
    }
    return v;
  };

  const walkBoolean = (node: TreeNode, path: string): boolean | undefined => {
    if (node.kind === 'scalar') {
      const fromOption = node.style === 'override';
      if (fromOption ? OPT_TRUE.has(node.value) : node.style === 'plain' && YAML_TRUE.has(node.value)) return true;
      if (fromOption ? OPT_FALSE.has(node.value) : node.style === 'plain' && YAML_FALSE.has(node.value)) return false;
    }
    report(node.pos, path, `expected a boolean (true or false), got ${describeNode(node)}`);
    return undefined;
  };

  const walkInteger = (node: TreeNode, s: IntegerSchema, path: string): number | undefined => {
    if (node.kind === 'scalar' && (node.style === 'plain' || node.style === 'override')) {
      const t = node.value.replace(/_/g, '');
      let n: number | undefined;
      if (/^[+-]?[0-9]+$/.test(t)) n = Number(t);
      else if (node.style === 'plain' && /^0x[0-9a-fA-F]+$/.test(t)) n = Number.parseInt(t.slice(2), 16);
      else if (node.style === 'plain' && /^0o[0-7]+$/.test(t)) n = Number.parseInt(t.slice(2), 8);
      if (n !== undefined && Number.isSafeInteger(n)) {
        if (s.minimum !== undefined && n < s.minimum) {
          report(node.pos, path, `must be at least ${s.minimum}, got ${n}`);
          return undefined;
        }
        if (s.maximum !== undefined && n > s.maximum) {
          report(node.pos, path, `must be at most ${s.maximum}, got ${n}`);
          return undefined;
        }
        return n;
      }
    }
    report(node.pos, path, `expected ${describeSchema(s)}, got ${describeNode(node)}`);
    return undefined;
  };

  const walkArray = (node: TreeNode, s: ArraySchema, path: string): unknown[] | undefined => {
    if (node.kind !== 'seq') {
      report(node.pos, path, `expected ${describeSchema(s)}, got ${describeNode(node)}`);
      return undefined;
    }
    if (s.minItems !== undefined && node.items.length < s.minItems) {
      report(node.pos, path, `must list at least ${s.minItems} ${s.minItems === 1 ? 'entry' : 'entries'}`);
    }
    const out: unknown[] = [];
    node.items.forEach((item, i) => {
      keyPositions.set(joinPath(path, i), item.pos);
      const v = walk(item, s.items, joinPath(path, i));
      // Keep indices aligned with the file so that positions and -o indices agree.
      out.push(
        v === undefined && s.items.type === 'string' ? '' : v === undefined && s.items.type === 'object' ? {} : v,
      );
    });
    return out;
  };

  const walkObject = (node: TreeNode, s: ObjectSchema, path: string): Record<string, unknown> | undefined => {
    if (node.kind !== 'map') {
      report(node.pos, path, `expected ${describeSchema(s)}, got ${describeNode(node)}`);
      return undefined;
    }
    const out: Record<string, unknown> = {};
    const allowed = Object.keys(s.properties);
    for (const e of node.entries) {
      const child = s.properties[e.key];
      const childPath = joinPath(path, e.key);
      if (!child || !Object.prototype.hasOwnProperty.call(s.properties, e.key)) {
        report(
          e.keyPos,
          childPath,
          `unknown key '${e.key}'${didYouMean(e.key, allowed)}; allowed: ${allowed.join(', ')}`,
        );
        continue;
      }
      keyPositions.set(childPath, e.keyPos);
      const v = walk(e.value, child, childPath);
      if (v !== undefined) out[e.key] = v;
    }
    for (const r of s.required ?? []) {
      const present = node.entries.find((e) => e.key === r);
      if (!present) report(keyPositions.get(path) ?? node.pos, path, `missing required key '${r}'`);
      else if (
        out[r] === undefined &&
        present.value.kind === 'scalar' &&
        (present.value.isNull || present.value.value === '')
      )
        report(present.value.pos, joinPath(path, r), 'must not be empty');
    }
    return out;
  };

  const walkMap = (node: TreeNode, s: MapSchema, path: string): Record<string, unknown> | undefined => {
    if (node.kind !== 'map') {
      report(node.pos, path, `expected ${describeSchema(s)}, got ${describeNode(node)}`);
      return undefined;
    }
    const out: Record<string, unknown> = {};
    for (const e of node.entries) {
      keyPositions.set(joinPath(path, e.key), e.keyPos);
      const v = walk(e.value, s.values, joinPath(path, e.key));
      out[e.key] = v ?? '';
    }
    return out;
  };

  if (root === null) {
    report({ file, line: 1, col: 1 }, '', 'the file is empty; a definition needs at least image and source');
    return { value: {}, diagnostics, positions, keyPositions, scalars };
  }
  const value = walk(root, schema, '');
  return { value: (value as Record<string, unknown> | undefined) ?? {}, diagnostics, positions, keyPositions, scalars };
}
