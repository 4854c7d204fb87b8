import { encodeHeader, END_OF_ARCHIVE, padding } from './tar-header.js';

/** A member of a tarball built in memory (metadata, LXC meta files). */
export interface SmallMember {
  name: string;
  /** Omitted for directories. */
  content?: Buffer | string | undefined;
  mode?: number;
}

/** The tar bytes of `members`, owned by root, with `mtime`; no end-of-archive marker. */
export function tarMembers(members: SmallMember[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    if (m.content === undefined) {
      parts.push(
        encodeHeader({ name: m.name, type: 'directory', mode: m.mode ?? 0o755, uid: 0, gid: 0, size: 0, mtime }),
      );
      continue;
    }
    const data = typeof m.content === 'string' ? Buffer.from(m.content, 'utf8') : m.content;
    parts.push(
      encodeHeader({ name: m.name, type: 'file', mode: m.mode ?? 0o644, uid: 0, gid: 0, size: data.length, mtime }),
    );
    parts.push(data, padding(data.length));
  }
  return Buffer.concat(parts);
}

/** A complete tarball of `members`. */
export function tarball(members: SmallMember[], mtime: number): Buffer {
  return Buffer.concat([tarMembers(members, mtime), END_OF_ARCHIVE]);
}
