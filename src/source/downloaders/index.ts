import type { Downloader } from '../types.js';
import { busybox } from './busybox.js';

/** Every downloader kiln knows, by the name a definition's `source.downloader` uses. */
export const downloaders: ReadonlyMap<string, Downloader> = new Map(
  [busybox].map((d) => [d.name, d]),
);
