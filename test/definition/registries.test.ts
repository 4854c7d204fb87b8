/**
 * Each registry is the only list of its names. The definition schema (and
 * the shipped JSON Schema) accept exactly the names that have an
 * implementation; the names distrobuilder knows and kiln does not are
 * refused when the definition is validated, not when its build starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln, ROOT } from '../helpers/kiln.js';
import {
  DOWNLOADER_NAMES,
  DOWNLOADERS_NOT_IN_KILN,
  GENERATOR_NAMES,
  MANAGER_NAMES,
} from '../../src/definition/registry-names.js';
import { downloaders } from '../../src/source/downloaders/index.js';
import { managers } from '../../src/customize/managers/index.js';
import { generators } from '../../src/customize/generators/index.js';

interface JsonSchemaNode {
  enum?: string[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
}

describe('registries and the schema', () => {
  let schema: JsonSchemaNode;
  beforeAll(async () => {
    schema = JSON.parse(await readFile(path.join(ROOT, 'schema/definition.schema.json'), 'utf8')) as JsonSchemaNode;
  });

  it('have the same downloader names, each implementation under its own name', () => {
    expect([...downloaders.keys()].sort()).toEqual([...DOWNLOADER_NAMES].sort());
    for (const [name, d] of downloaders) expect(d.name).toBe(name);
    expect(schema.properties?.source?.properties?.downloader?.enum?.slice().sort()).toEqual(
      [...DOWNLOADER_NAMES].sort(),
    );
    for (const name of DOWNLOADERS_NOT_IN_KILN) expect(downloaders.has(name)).toBe(false);
  });

  it('have the same package manager and generator names', () => {
    expect(Object.keys(managers).sort()).toEqual([...MANAGER_NAMES].sort());
    for (const [name, m] of Object.entries(managers)) expect(m.name).toBe(name);
    expect(schema.properties?.packages?.properties?.manager?.enum?.slice().sort()).toEqual([...MANAGER_NAMES].sort());
    expect(Object.keys(generators).sort()).toEqual([...GENERATOR_NAMES].sort());
    for (const [name, g] of Object.entries(generators)) expect(g.name).toBe(name);
    expect(schema.properties?.files?.items?.properties?.generator?.enum?.slice().sort()).toEqual(
      [...GENERATOR_NAMES].sort(),
    );
  });
});

describe('kiln validate and the downloader names', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-registries-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it.each(DOWNLOADERS_NOT_IN_KILN.filter((n) => n !== 'sabayon-http'))(
    'refuses %s: not implemented in kiln, with the closest implemented name and the position',
    async (name) => {
      const file = path.join(tmp, `${name}.yaml`);
      await writeFile(file, `image:\n  distribution: x\n  release: "1"\nsource:\n  downloader: ${name}\n`);
      const r = await kiln(['validate', file]);
      expect(r.exitCode).toBe(1);
      const line = r.stderr.split('\n')[0] ?? '';
      expect(line).toMatch(
        new RegExp(
          `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:15: source\\.downloader: .*${name} is not implemented in kiln \\(closest implemented: '[a-z0-9-]+'`,
        ),
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
  );

  it('accepts mmdebstrap, and kiln builds it from the host Debian mirror', async () => {
    const file = path.join(tmp, 'essential.yaml');
    await writeFile(
      file,
      [
        'image:',
        '  distribution: debian',
        '  release: bookworm',
        '  variant: essential',
        'source:',
        '  downloader: mmdebstrap',
        '  variant: essential',
        'mappings:',
        '  architecture_map: debian',
        '',
      ].join('\n'),
    );
    const v = await kiln(['validate', file]);
    expect(v.exitCode, v.all).toBe(0);
    const out = path.join(tmp, 'out');
    const b = await kiln(
      [
        'build',
        file,
        '--out',
        out,
        '--formats',
        'incus',
        '--squashfs-compression',
        'lz4',
        '--serial',
        '20260501_00:00',
        '--json',
      ],
      { timeout: 900_000 },
    );
    expect(b.exitCode, b.all).toBe(0);
    const index = await readFile(path.join(out, 'streams/v1/images.json'), 'utf8');
    expect(index).toContain('debian:bookworm:');
    expect(index).toContain(':essential');
  }, 900_000);
});
