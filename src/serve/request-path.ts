export type RequestPath =
  | {
      ok: true;
      segments: string[];
      /** The path ended in `/`: it names a directory, so a file there is not found (as nginx answers). */
      directory: boolean;
    }
  | { ok: false; status: 400 | 404; reason: string };

export const MAX_URL_LENGTH = 4096;

/**
 * Turns a raw request target into path segments. Clients send `//` (the LXC
 * client always does) and `:` or `%3A` in serials, so empty segments collapse
 * and each segment is decoded on its own: an encoded `/` can never create a
 * new segment, and `..`, control characters or NUL are refused outright.
 * Hidden names (dotfiles, `.SERIAL` staging directories, `.kiln`) are
 * reported as missing.
 */
export function parseRequestPath(rawUrl: string): RequestPath {
  if (rawUrl.length > MAX_URL_LENGTH) return { ok: false, status: 400, reason: 'request target too long' };
  if (!rawUrl.startsWith('/')) return { ok: false, status: 400, reason: 'request target must be a path' };
  const end = rawUrl.search(/[?#]/);
  const path = end === -1 ? rawUrl : rawUrl.slice(0, end);
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { ok: false, status: 400, reason: 'bad percent-encoding' };
    }
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    if (/[\u0000-\u001f\u007f/\\]/.test(seg)) return { ok: false, status: 400, reason: 'forbidden character in path' };
    if (seg === '.' || seg === '..') return { ok: false, status: 400, reason: 'dot segment in path' };
    if (seg.length > 255) return { ok: false, status: 400, reason: 'path segment too long' };
    if (seg.startsWith('.')) return { ok: false, status: 404, reason: 'hidden' };
    segments.push(seg);
  }
  return { ok: true, segments, directory: path.endsWith('/') };
}
