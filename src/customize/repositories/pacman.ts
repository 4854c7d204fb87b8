import type { RepositoryHandler } from './types.js';
import { fileName, isArmoredKey, shQuote, withNewline } from './common.js';
import { readFileInRoot, removeInRoot, writeFileInRoot } from '../file-ops.js';
import { KilnError } from '../../util/errors.js';

/** `[NAME]` with `Server = URL`, or the entry's lines verbatim when they already are pacman.conf options. */
export function pacmanSection(name: string, url: string): string {
  const lines = url
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const body = lines.every((l) => l.includes('=') || l.startsWith('#')) ? lines : lines.map((l) => `Server = ${l}`);
  return `\n[${name}]\n${body.join('\n')}\n`;
}

/**
 * pacman (distrobuilder ignores repositories here): the repository becomes a
 * section of /etc/pacman.conf; an armored key is added to pacman's keyring
 * and locally signed inside the container.
 */
export const pacman: RepositoryHandler = {
  managers: ['pacman'],
  async add(ctx) {
    const name = fileName(ctx.repo, ctx.step);
    if (!/^[A-Za-z0-9._-]+$/.test(name))
      throw new KilnError(
        `${ctx.step}: pacman repository name '${name}' may use letters, digits, '.', '_' and '-' only`,
      );
    const conf = (await readFileInRoot(ctx.rootfs, '/etc/pacman.conf')) ?? '';
    await writeFileInRoot(
      ctx.rootfs,
      '/etc/pacman.conf',
      `${withNewline(conf)}${pacmanSection(name, ctx.repo.url ?? '')}`,
      { mode: 0o644 },
    );
    if (!ctx.repo.key) return;
    if (!isArmoredKey(ctx.repo.key))
      throw new KilnError(`${ctx.step}: repository '${name}' key must be an armored public key for pacman`);
    const keyFile = `/var/tmp/kiln-repo-key-${name}.asc`;
    await writeFileInRoot(ctx.rootfs, keyFile, withNewline(ctx.repo.key), { mode: 0o644 });
    try {
      await ctx.run({
        script: [
          '#!/bin/sh',
          'set -eu',
          `key=${shQuote(keyFile)}`,
          '[ -d /etc/pacman.d/gnupg ] || pacman-key --init',
          'pacman-key --add "$key"',
          'for fpr in $(gpg --with-colons --show-keys "$key" | awk -F: \'$1 == "fpr" { print $10 }\'); do',
          '  pacman-key --lsign-key "$fpr"',
          'done',
          '',
        ].join('\n'),
      });
    } finally {
      await removeInRoot(ctx.rootfs, keyFile);
    }
  },
};
