const BY_SUFFIX: [string, string][] = [
  ['.json', 'application/json'],
  ['.tar.xz', 'application/x-xz'],
  ['.xz', 'application/x-xz'],
  ['.tar.gz', 'application/gzip'],
  ['.gz', 'application/gzip'],
  ['.zst', 'application/zstd'],
  ['.squashfs', 'application/octet-stream'],
  ['.qcow2', 'application/octet-stream'],
  ['.vcdiff', 'application/octet-stream'],
  ['.asc', 'application/pgp-signature'],
  ['.gpg', 'application/pgp-signature'],
  ['.yaml', 'application/yaml'],
  ['.html', 'text/html; charset=utf-8'],
  ['.txt', 'text/plain; charset=utf-8'],
  ['.log', 'text/plain; charset=utf-8'],
];

/** Plain-text files of the tree that have no suffix (or a compat-level one). */
const TEXT_NAMES = /^(SHA256SUMS|index-(system|user)(\.\d+)?|serial)$/;

export function contentType(name: string): string {
  if (TEXT_NAMES.test(name)) return 'text/plain; charset=utf-8';
  for (const [suffix, type] of BY_SUFFIX) if (name.endsWith(suffix)) return type;
  return 'application/octet-stream';
}
