/**
 * `kiln mirror`: a private copy of an upstream image server (LXC index and
 * simplestreams), verified file by file and published into a kiln tree.
 */
export { mirror, type MirrorOptions, type MirrorResult } from './sync.js';
export type { ImageType } from './select.js';
