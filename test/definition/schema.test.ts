import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { definitionJsonSchema, definitionJsonSchemaText } from '../../src/definition/json-schema.js';
import { DEFINITION_SCHEMA, type SchemaNode } from '../../src/definition/schema.js';

const SHIPPED = fileURLToPath(new URL('../../schema/definition.schema.json', import.meta.url));
const IMAGES = fileURLToPath(new URL('../corpus/lxc-ci/images/', import.meta.url));

type J = Record<string, unknown>;

/** The part of JSON Schema draft-07 the generator emits, enough to check documents against it. */
function check(schema: J, value: unknown, at: string, errors: string[]): void {
  const types =
    schema.type === undefined ? [] : Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const actual =
    value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (types.length > 0 && !types.includes(actual) && !(actual === 'integer' && types.includes('number'))) {
    errors.push(`${at}: ${actual} is not ${types.join('|')}`);
    return;
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(`${at}: ${String(value)} not in enum`);
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern as string).test(value))
    errors.push(`${at}: pattern`);
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum)
    errors.push(`${at}: minimum`);
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${at}: minItems`);
    value.forEach((v, i) => check(schema.items as J, v, `${at}[${i}]`, errors));
  }
  if (actual === 'object') {
    const obj = value as J;
    const props = (schema.properties ?? {}) as J;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errors.push(`${at}: missing ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) check(props[k] as J, v, `${at}.${k}`, errors);
      else if (schema.additionalProperties === false) errors.push(`${at}: unknown ${k}`);
      else if (typeof schema.additionalProperties === 'object')
        check(schema.additionalProperties as J, v, `${at}.${k}`, errors);
    }
  }
}

function errorsOf(doc: unknown): string[] {
  const errors: string[] = [];
  check(definitionJsonSchema(), doc, '$', errors);
  return errors;
}

describe('the JSON Schema for editors', () => {
  it("is shipped in schema/ exactly as generated from the validator's schema data", () => {
    // To update after a schema change: npm run build && node -e "import('./dist/definition/json-schema.js').then(m => process.stdout.write(m.definitionJsonSchemaText()))" > schema/definition.schema.json
    expect(readFileSync(SHIPPED, 'utf8')).toBe(definitionJsonSchemaText());
  });

  it('describes every key the validator knows, and no other', () => {
    const keysOf = (s: SchemaNode, prefix: string): string[] =>
      s.type === 'object'
        ? Object.entries(s.properties).flatMap(([k, v]) => [`${prefix}${k}`, ...keysOf(v, `${prefix}${k}.`)])
        : s.type === 'array'
          ? keysOf(s.items, `${prefix}[].`)
          : [];
    const jsonKeys = (s: J, prefix: string): string[] =>
      s.type === 'object' && s.properties
        ? Object.entries(s.properties as J).flatMap(([k, v]) => [
            `${prefix}${k}`,
            ...jsonKeys(v as J, `${prefix}${k}.`),
          ])
        : s.type === 'array'
          ? jsonKeys(s.items as J, `${prefix}[].`)
          : [];
    expect(jsonKeys(definitionJsonSchema(), '')).toEqual(keysOf(DEFINITION_SCHEMA, ''));
  });

  for (const f of readdirSync(IMAGES).filter((x) => x.endsWith('.yaml'))) {
    it(`accepts the corpus definition ${f} as an editor reads it (YAML 1.2 core types)`, () => {
      expect(errorsOf(parse(readFileSync(path.join(IMAGES, f), 'utf8')))).toEqual([]);
    });
  }

  it('rejects what the validator rejects: unknown keys, bad enums, wrong types, missing keys', () => {
    expect(errorsOf({ image: { distribution: 'x', relase: '1' }, source: { downloader: 'busybox' } })).toEqual([
      '$.image: unknown relase',
    ]);
    expect(errorsOf({ image: { distribution: 'x' }, source: { downloader: 'debootsrap' } })).toEqual([
      '$.source.downloader: debootsrap not in enum',
    ]);
    expect(
      errorsOf({ image: { distribution: 'x' }, source: { downloader: 'busybox' }, packages: { update: 'yes' } }),
    ).toEqual(['$.packages.update: string is not boolean']);
    expect(errorsOf({ image: {}, source: { downloader: 'busybox' } })).toEqual(['$.image: missing distribution']);
  });
});
