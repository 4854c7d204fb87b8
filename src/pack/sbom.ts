import { createHash } from 'node:crypto';
import type { ResolvedDefinition } from '../definition/types.js';
import type { EventSink } from '../util/events.js';
import { KILN_VERSION } from '../util/version.js';
import { packageDbs, type InstalledPackage } from './package-db/index.js';
import { sortedJson } from './sorted-json.js';

/** A licence string that is plausibly an SPDX expression (ids joined by AND/OR/WITH, parentheses). */
const SPDX_EXPRESSION = /^\(?[A-Za-z0-9.+-]+\)?(\s+(AND|OR|WITH)\s+\(?[A-Za-z0-9.+-]+\)?)*$/;

function spdxId(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]/g, '-');
}

function purl(p: InstalledPackage): string {
  const q = p.arch ? `?arch=${encodeURIComponent(p.arch)}` : '';
  return `pkg:${p.purlType}/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}${q}`;
}

/** Installed packages from every package database the root has (normally one). */
export async function readInstalledPackages(
  root: string,
  distribution: string,
  sink: EventSink,
  signal?: AbortSignal,
): Promise<{ packages: InstalledPackage[]; databases: string[] }> {
  const packages: InstalledPackage[] = [];
  const databases: string[] = [];
  for (const db of Object.values(packageDbs)) {
    const found = await db.read(root, { sink, distribution, ...(signal ? { signal } : {}) });
    if (found === null) continue;
    databases.push(db.name);
    packages.push(...found);
  }
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : (a.arch ?? '') < (b.arch ?? '') ? -1 : 1));
  return { packages, databases };
}

/**
 * SPDX 2.3 JSON for the image: one package for the image itself, which
 * CONTAINS every installed package. Nothing in it depends on the wall
 * clock (created = SOURCE_DATE_EPOCH, namespace derived from the content).
 */
export function spdxDocument(
  def: ResolvedDefinition,
  found: { packages: InstalledPackage[]; databases: string[] },
  sourceDateEpoch: number,
): string {
  const img = def.image;
  const imageId = 'SPDXRef-Image';
  const pkgs = found.packages.map((p, i) => {
    const licensed = p.license !== undefined && SPDX_EXPRESSION.test(p.license);
    return {
      SPDXID: `SPDXRef-Package-${i + 1}-${spdxId(p.name)}`,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: licensed ? (p.license as string) : 'NOASSERTION',
      ...(p.license !== undefined && !licensed ? { licenseComments: `package database says: ${p.license}` } : {}),
      copyrightText: 'NOASSERTION',
      ...(p.arch ? { comment: `architecture: ${p.arch}` } : {}),
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl(p) }],
    };
  });
  const body = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: img.name,
    creationInfo: {
      created: new Date(sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: kiln-${KILN_VERSION}`],
      ...(found.databases.length === 0
        ? { comment: 'The image has no package database kiln reads (dpkg, apk, rpm, pacman).' }
        : {}),
    },
    packages: [
      {
        SPDXID: imageId,
        name: img.name,
        versionInfo: img.serial,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        primaryPackagePurpose: 'CONTAINER',
        description: img.description,
        comment: `${img.distribution} ${img.release} ${img.architecture} ${img.variant}; packages from: ${found.databases.join(', ') || 'none'}`,
      },
      ...pkgs,
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...pkgs.map((p) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
  const digest = createHash('sha256').update(sortedJson(body)).digest('hex');
  return sortedJson({ ...body, documentNamespace: `urn:kiln:spdx:${spdxId(img.name)}:${digest}` });
}
