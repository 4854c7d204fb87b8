import { SourceError } from './errors.js';

/** `source.url` without trailing slashes; an error naming what the downloader expects when it is unset. */
export function baseUrl(url: string | undefined, downloader: string, expected: string): string {
  if (!url) throw new SourceError(`source.url: ${downloader} needs ${expected}`);
  if (!/^https?:\/\//i.test(url))
    throw new SourceError(`source.url: "${url}" is not an http(s) URL (${downloader} needs ${expected})`);
  return url.replace(/\/+$/, '');
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
