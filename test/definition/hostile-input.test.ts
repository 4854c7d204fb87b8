import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { peakRssSync } from '../helpers/peak-rss.js';

/**
 * A definition is untrusted input: whatever it holds, `kiln validate` ends
 * with one line per problem, naming where it is and what the limit is, in
 * bounded memory. Each case is an attack that crashed or exhausted an
 * earlier kiln (issue 24).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KILN = path.join(ROOT, 'bin/kiln.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-def-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PEAK_LIMIT_KB = 300 * 1024;

function validate(file: string) {
  return peakRssSync([process.execPath, KILN, 'validate', file], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp } });
}

function definition(name: string, body: string | Buffer): string {
  const file = path.join(tmp, name);
  writeFileSync(file, body);
  return file;
}

const HEAD = 'image:\n  distribution: busybox\n  release: "1.35"\n';
const TAIL = 'source:\n  downloader: busybox\n';

function expectRefused(r: ReturnType<typeof validate>, pattern: RegExp, line = 0): void {
  expect(r.code).toBe(1);
  expect(r.stderr.join('\n')).not.toMatch(/\n\s+at |Error:|FATAL|Maximum call stack/);
  expect(r.stderr[line === -1 ? r.stderr.findIndex((l) => pattern.test(l)) : line]).toMatch(pattern);
  expect(r.peakKb).toBeGreaterThan(0);
  expect(r.peakKb).toBeLessThan(PEAK_LIMIT_KB);
}

describe('kiln validate on hostile definitions', () => {
  it('stops three nested loops over 1000-character strings at the loop limit, naming the loop', () => {
    const long = 'x'.repeat(1000);
    const file = definition(
      'loops.yaml',
      `${HEAD}  description: "{% for a in '${long}' %}{% for b in '${long}' %}{% for c in '${long}' %}{{ a }}{% endfor %}{% endfor %}{% endfor %}"\n${TAIL}`,
    );
    const r = validate(file);
    expectRefused(r, new RegExp(`^${file}:4:\\d+: image.description: .*loops ran more than 100000 times`));
  });

  it('stops a render whose output passes 4 MiB', () => {
    const long = 'y'.repeat(300);
    const file = definition(
      'output.yaml',
      `${HEAD}  description: "{% for a in '${long}' %}{% for b in '${long}' %}${'z'.repeat(100)}{% endfor %}{% endfor %}"\n${TAIL}`,
    );
    expectRefused(validate(file), new RegExp(`^${file}:4:\\d+: image.description: .*output is larger than 4 MiB`));
  });

  it('refuses a padding filter wider than 65536', () => {
    const file = definition('pad.yaml', `${HEAD}  description: '{{ "x"|center:1000000000 }}'\n${TAIL}`);
    expectRefused(validate(file), new RegExp(`^${file}:4:\\d+: image.description: .*width 1000000000`));
  });

  it('refuses parentheses nested 100,000 deep in a template', () => {
    const file = definition(
      'parens.yaml',
      `${HEAD}  description: '{{ ${'('.repeat(100_000)}1${')'.repeat(100_000)} }}'\n${TAIL}`,
    );
    expectRefused(validate(file), new RegExp(`^${file}:4:\\d+: image.description: .*nested deeper than 64 levels`));
  });

  it('refuses {% if %} blocks nested 10,000 deep', () => {
    const file = definition(
      'ifs.yaml',
      `${HEAD}  description: '${'{% if true %}'.repeat(10_000)}x${'{% endif %}'.repeat(10_000)}'\n${TAIL}`,
    );
    expectRefused(validate(file), new RegExp(`^${file}:4:\\d+: image.description: .*nested deeper than 32 levels`));
  });

  it('refuses a 200 MB definition without reading it, saying the size and the limit', () => {
    const file = path.join(tmp, 'huge.yaml');
    writeFileSync(file, HEAD);
    truncateSync(file, 200 * 1024 * 1024);
    expectRefused(
      validate(file),
      /^kiln: definition .*huge\.yaml is 200\.0 MiB; a definition may be at most 4\.0 MiB$/,
    );
  });

  it('refuses 100,000 nested [ as a definition error at its position', () => {
    const file = definition('brackets.yaml', `${HEAD}${TAIL}packages:\n  sets: ${'['.repeat(100_000)}\n`);
    expectRefused(validate(file), new RegExp(`^${file}:7:73: lists and maps nested deeper than 64 levels$`));
  });

  it('refuses block maps nested deeper than 64 levels', () => {
    let nested = '';
    for (let i = 0; i < 100; i++) nested += `${' '.repeat(i)}k${i}:\n`;
    const file = definition('block-depth.yaml', `${HEAD}${TAIL}${nested}`);
    // Under unknown keys, so the schema's complaints come first: any line may say it.
    expectRefused(validate(file), /:71:66: k0\.k1\..*k63\.k64: lists and maps nested deeper than 64 levels$/, -1);
  });

  it('refuses invalid UTF-8 at its line and column', () => {
    const bytes = Buffer.concat([
      Buffer.from(`${HEAD}  description: "ab`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`"\n${TAIL}`),
    ]);
    const file = definition('latin.yaml', bytes);
    expectRefused(validate(file), new RegExp(`^${file}:4:19: the file is not valid UTF-8 text`));
  });

  it('refuses a NUL byte in the file and a "\\0" escape in a value, each at its position', () => {
    const raw = definition('nul.yaml', `${HEAD}  description: "a\0b"\n${TAIL}`);
    expectRefused(validate(raw), new RegExp(`^${raw}:4:18: a NUL byte`));
    const escaped = definition('nul-escape.yaml', `${HEAD}  description: "a\\0b"\n${TAIL}`);
    expectRefused(validate(escaped), new RegExp(`^${escaped}:4:16: image.description: a NUL character in a value`));
  });

  it('leaves nothing behind in its temp dir', () => {
    const left = readdirSync(tmp).filter((f) => !f.endsWith('.yaml'));
    expect(left).toEqual([]);
  });
});
