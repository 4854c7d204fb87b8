/** One archive member, whatever the archive format, as the root writer sees it. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface EntryHeader {
  /** The name as stored in the archive (for error messages). */
  name: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (no file type bits). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, possibly fractional. */
  mtime: number;
  /** Data bytes that follow (regular files only). */
  size: number;
  /** Symlink target, or the archive name a hardlink points at. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Array<[string, Buffer]>;
}

/** Receives entries in archive order; `data` is only called between `begin` and `end` of a file. */
export interface EntrySink {
  begin(h: EntryHeader): void;
  data(chunk: Buffer): void;
  end(): void;
}
