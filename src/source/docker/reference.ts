import { SourceError } from '../errors.js';

export interface ImageReference {
  /** `https://host[:port]` (or http:// when the reference says so). */
  base: string;
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** The reference as written, for messages and the record. */
  text: string;
}

/**
 * `[http(s)://|docker://]HOST[:PORT]/NAME[:TAG][@sha256:HEX]`. The registry
 * host is required: kiln does not guess a default registry.
 */
export function parseReference(raw: string): ImageReference {
  const text = raw.trim();
  let rest = text.replace(/^docker:\/\//, '');
  let scheme = 'https';
  const m = /^(https?):\/\//.exec(rest);
  if (m) {
    scheme = m[1]!;
    rest = rest.slice(m[0].length);
  }
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new SourceError(`source.url: "${text}": the digest must be sha256:<64 lowercase hex digits>`);
    }
  }
  const slash = rest.indexOf('/');
  const host = slash > 0 ? rest.slice(0, slash) : '';
  if (!host || !(host.includes('.') || host.includes(':') || host === 'localhost')) {
    throw new SourceError(
      `source.url: "${text}" must start with the registry host, e.g. registry.example.org/library/debian:bookworm`,
    );
  }
  let name = rest.slice(slash + 1);
  let tag: string | undefined;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(name)) {
    throw new SourceError(`source.url: "${text}": "${name}" is not a valid repository name`);
  }
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) {
    throw new SourceError(`source.url: "${text}": "${tag}" is not a valid tag`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return {
    base: `${scheme}://${host}`,
    host,
    repository: name,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
    text,
  };
}
