import type { Diagnostic } from '../util/errors.js';
import { CLOUD_INIT_NAMES, MANAGERS } from './schema.js';
import { downloaderFacts } from './registry-names.js';
import type { Definition } from './types.js';
import type { Pos } from './yaml-tree.js';

/**
 * Checks that involve more than one key (the schema checks each key alone).
 * Most are mistakes distrobuilder only finds in the middle of a build; kiln
 * finds them before anything is downloaded.
 */
export function checkRules(
  def: Definition,
  positions: Map<string, Pos>,
  keyPositions: Map<string, Pos>,
  file: string,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (path: string, message: string, fallback = ''): void => {
    // A value that is wrong is shown where it is written; a missing one where its parent's key is.
    let p = positions.get(path);
    let shown = path;
    if (!p) {
      p = keyPositions.get(fallback || path);
      shown = fallback || path;
    }
    const pos = p ?? { file, line: 1, col: 1 };
    out.push({ file: pos.file, line: pos.line, col: pos.col, path: shown, message });
  };

  const pk = def.packages;
  if (pk) {
    if (pk.manager !== undefined && pk.custom_manager !== undefined) {
      at('packages.custom_manager', 'set either packages.manager or packages.custom_manager, not both');
    } else if (pk.manager === undefined && pk.custom_manager === undefined) {
      const needs = (pk.sets?.length ?? 0) > 0 || pk.update || pk.cleanup || (pk.repositories?.length ?? 0) > 0;
      if (needs)
        at(
          'packages.manager',
          `a package manager is required: set packages.manager (${MANAGERS.join(', ')}) or packages.custom_manager`,
          'packages',
        );
    }
    pk.repositories?.forEach((r, i) => {
      const base = `packages.repositories[${i}]`;
      if (pk.manager === 'zypper' && r.type !== undefined && r.type !== '' && r.type !== 'zypper')
        at(`${base}.type`, `unknown value '${r.type}' for zypper; allowed: zypper (or leave it out)`);
      if (pk.manager === 'equo' && r.type !== undefined && !['', 'equo', 'enman'].includes(r.type))
        at(`${base}.type`, `unknown value '${r.type}' for equo; allowed: equo, enman`);
      if (pk.manager === 'apk' && r.key !== undefined && (r.name ?? '').includes('/'))
        at(
          `${base}.name`,
          "an apk repository with a key is written to /etc/apk/keys/<name>, so the name must not contain '/'",
        );
      if (pk.manager === 'apt' && (r.name ?? '').includes('/'))
        at(`${base}.name`, "an apt repository name is a file name in /etc/apt/sources.list.d and must not contain '/'");
    });
  }

  def.files?.forEach((f, i) => {
    const base = `files[${i}]`;
    const need = (key: 'path' | 'source' | 'name', why: string): void => {
      if (f[key] === undefined || f[key] === '')
        at(`${base}.${key}`, `the ${f.generator} generator needs '${key}' (${why})`, base);
    };
    switch (f.generator) {
      case 'dump':
        need('path', 'the file to write');
        break;
      case 'copy':
        need('source', 'the host path or glob to copy');
        break;
      case 'remove':
        need('path', 'the path to remove');
        break;
      case 'hostname':
      case 'hosts':
        need('path', `usually /etc/${f.generator}`);
        break;
      case 'template':
        need('name', 'the template file name in templates/');
        need('path', 'the file the template renders to');
        break;
      case 'cloud-init':
        if (f.name === undefined || f.name === '')
          at(`${base}.name`, `the cloud-init generator needs 'name'; allowed: ${CLOUD_INIT_NAMES.join(', ')}`, base);
        else if (!(CLOUD_INIT_NAMES as readonly string[]).includes(f.name))
          at(`${base}.name`, `unknown cloud-init file '${f.name}'; allowed: ${CLOUD_INIT_NAMES.join(', ')}`);
        break;
    }
  });

  def.actions?.forEach((a, i) => {
    if (!a.pongo && typeof a.action === 'string' && a.action !== '' && !a.action.startsWith('#!')) {
      at(
        `actions[${i}].action`,
        'the script must start with a shebang line such as #!/bin/sh (it is executed directly)',
      );
    }
  });

  const src = def.source;
  if (src) {
    const facts = downloaderFacts(src.downloader);
    if (facts.needsUrl && !src.url) at('source.url', `the ${src.downloader} downloader needs source.url`, 'source');
    const own = facts.check?.(src, def.image?.release);
    if (own) at(own.path, own.message, 'source');
    if (src.checksum !== undefined && facts.verifiesOwnRelease) {
      at(
        'source.checksum',
        `source.checksum is not used by ${src.downloader}, which verifies the archive's signed Release files; use source.keys`,
      );
    }
  }
  return out;
}
