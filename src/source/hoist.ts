import { lstat, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { log, type EventSink } from '../util/events.js';
import { SourceError } from './errors.js';

/**
 * Makes `root/<sub>/` the root: its children move up and everything else
 * at the top (the archive's own notes, pkglists) goes. Used for archives
 * that wrap the root in a directory (Arch's `root.x86_64/`).
 */
export async function hoistDirectory(root: string, sub: string, what: string, sink?: EventSink): Promise<void> {
  const inner = path.join(root, sub);
  const st = await lstat(inner).catch(() => undefined);
  if (!st?.isDirectory())
    throw new SourceError(
      `${what}: expected the root inside a ${sub}/ directory, but the archive has none; the upstream layout may have changed`,
    );
  // A name no archive entry can have at the top, so the move cannot collide.
  const parked = path.join(root, `.kiln-hoist-${process.pid}-${Date.now()}`);
  await rename(inner, parked);
  for (const name of await readdir(root)) {
    if (path.join(root, name) === parked) continue;
    if (sink) log(sink, 'debug', `${what}: dropping /${name} beside ${sub}/`);
    await rm(path.join(root, name), { recursive: true, force: true });
  }
  for (const name of await readdir(parked)) await rename(path.join(parked, name), path.join(root, name));
  await rmdir(parked);
}
