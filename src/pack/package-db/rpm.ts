import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { log } from '../../util/events.js';
import { KilnError } from '../../util/errors.js';
import type { InstalledPackage, PackageDb } from './types.js';

const DB_DIRS = ['usr/lib/sysimage/rpm', 'var/lib/rpm'];
const FORMAT = '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{LICENSE}\\n';

/**
 * The rpm database can only be read by rpm itself (Berkeley DB, sqlite or
 * ndb depending on the distribution), so the host's `rpm --dbpath` is
 * asked; without it the SBOM says the packages were not listed.
 */
export const rpm: PackageDb = {
  name: 'rpm',
  async read(root, ctx) {
    let dbpath: string | null = null;
    for (const d of DB_DIRS) {
      if (
        await access(join(root, d, 'rpmdb.sqlite')).then(
          () => true,
          () => false,
        )
      )
        dbpath = join(root, d);
      else if (
        await access(join(root, d, 'Packages')).then(
          () => true,
          () => false,
        )
      )
        dbpath = join(root, d);
      else if (
        await access(join(root, d, 'Packages.db')).then(
          () => true,
          () => false,
        )
      )
        dbpath = join(root, d);
      if (dbpath) break;
    }
    if (dbpath === null) return null;
    const r = await execa('rpm', ['--dbpath', dbpath, '-qa', '--queryformat', FORMAT], {
      reject: false,
      ...(ctx.signal ? { cancelSignal: ctx.signal } : {}),
    });
    if ((r as { code?: string }).code === 'ENOENT') {
      log(
        ctx.sink,
        'warn',
        `the image has an rpm database but rpm is not installed on the host: the SBOM lists no packages`,
      );
      return [];
    }
    if (r.exitCode !== 0) {
      throw new KilnError(`rpm could not read the package database ${dbpath}`, {
        details: String(r.stderr).split('\n').slice(-5),
      });
    }
    const pkgs: InstalledPackage[] = [];
    for (const line of String(r.stdout).split('\n')) {
      const [name, evr, arch, license] = line.split('\t');
      if (!name || !evr) continue;
      const version = evr.startsWith('0:') ? evr.slice(2) : evr;
      pkgs.push({
        name,
        version,
        ...(arch && arch !== '(none)' ? { arch } : {}),
        ...(license && license !== '(none)' ? { license } : {}),
        purlType: `rpm/${ctx.distribution.toLowerCase()}`,
      });
    }
    return pkgs;
  },
};
