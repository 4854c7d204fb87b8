import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packImage } from '../../src/pack/index.js';
import { MemorySink } from '../../src/util/events.js';
import { makeBusyboxRoot, packInput, SDE } from './fixtures.js';

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo: string;
  licenseDeclared: string;
  licenseComments?: string;
  comment?: string;
  externalRefs?: Array<{ referenceLocator: string }>;
}
interface SpdxDoc {
  spdxVersion: string;
  dataLicense: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[]; comment?: string };
  packages: SpdxPackage[];
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
}

describe('SBOM (sbom.spdx.json)', () => {
  let dir: string;
  let n = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-pack-sbom-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function sbomOf(prepare: (root: string) => void, sink = new MemorySink()): Promise<SpdxDoc> {
    n++;
    const root = join(dir, `root${n}`);
    const out = join(dir, `out${n}`);
    mkdirSync(root);
    mkdirSync(out);
    makeBusyboxRoot(root);
    prepare(root);
    await packImage(packInput(root, out, { formats: ['lxc'], sink }));
    return JSON.parse(readFileSync(join(out, 'sbom.spdx.json'), 'utf8')) as SpdxDoc;
  }

  function checkStructure(doc: SpdxDoc): SpdxPackage[] {
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.dataLicense).toBe('CC0-1.0');
    expect(doc.creationInfo.created).toBe(new Date(SDE * 1000).toISOString().replace('.000', ''));
    expect(doc.documentNamespace).toMatch(/^urn:kiln:spdx:/);
    const ids = doc.packages.map((p) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    const contained = doc.relationships
      .filter((r) => r.relationshipType === 'CONTAINS')
      .map((r) => r.relatedSpdxElement);
    const pkgs = doc.packages.filter((p) => p.SPDXID !== 'SPDXRef-Image');
    expect(contained.sort()).toEqual(pkgs.map((p) => p.SPDXID).sort());
    return pkgs;
  }

  it("lists the same packages as dpkg-query -W over the image's dpkg database", async () => {
    const doc = await sbomOf((root) => {
      mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
      copyFileSync('/var/lib/dpkg/status', join(root, 'var/lib/dpkg/status'));
    });
    const pkgs = checkStructure(doc);
    const root = join(dir, `root${n}`);
    const expected = execFileSync(
      'dpkg-query',
      [
        '--admindir',
        join(root, 'var/lib/dpkg'),
        '-W',
        '-f',
        '${db:Status-Status} ${Package} ${Version} ${Architecture}\\n',
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('config-files ') && !l.startsWith('not-installed '))
      .map((l) => l.split(' ').slice(1).join(' '))
      .sort();
    const got = pkgs.map((p) => `${p.name} ${p.versionInfo} ${(p.comment ?? '').replace('architecture: ', '')}`).sort();
    expect(got).toEqual(expected);
    expect(pkgs.find((p) => p.name === 'dpkg')?.externalRefs?.[0]?.referenceLocator).toMatch(
      /^pkg:deb\/busybox\/dpkg@/,
    );
  });

  it("reads apk's installed database with licences", async () => {
    const doc = await sbomOf((root) => {
      mkdirSync(join(root, 'lib/apk/db'), { recursive: true });
      writeFileSync(
        join(root, 'lib/apk/db/installed'),
        'C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\nT:the musl c library\nL:MIT\no:musl\n\n' +
          'C:Q1def=\nP:busybox\nV:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\nF:bin\nR:busybox\n\n' +
          'P:odd\nV:1\nA:noarch\nL:GPL2 BSD\n\n',
      );
    });
    const pkgs = checkStructure(doc);
    expect(pkgs.map((p) => [p.name, p.versionInfo, p.licenseDeclared])).toEqual([
      ['busybox', '1.36.1-r5', 'GPL-2.0-only'],
      ['musl', '1.2.4-r2', 'MIT'],
      ['odd', '1', 'NOASSERTION'],
    ]);
    expect(pkgs[2]?.licenseComments).toBe('package database says: GPL2 BSD');
  });

  it("reads pacman's local database", async () => {
    const doc = await sbomOf((root) => {
      const d = join(root, 'var/lib/pacman/local/zlib-1:1.3-2');
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'desc'), '%NAME%\nzlib\n\n%VERSION%\n1:1.3-2\n\n%ARCH%\nx86_64\n\n%LICENSE%\nZlib\n\n');
      writeFileSync(join(root, 'var/lib/pacman/local/ALPM_DB_VERSION'), '9\n');
    });
    const pkgs = checkStructure(doc);
    expect(pkgs.map((p) => [p.name, p.versionInfo, p.licenseDeclared, p.comment])).toEqual([
      ['zlib', '1:1.3-2', 'Zlib', 'architecture: x86_64'],
    ]);
  });

  it('says so when the image has no package database', async () => {
    const doc = await sbomOf(() => {});
    expect(checkStructure(doc)).toEqual([]);
    expect(doc.creationInfo.comment).toMatch(/no package database/);
  });
});
