import { createHash } from 'node:crypto';
import got, { type Response } from 'got';
import type { EventSink } from '../../util/events.js';
import { SourceError, VerificationError } from '../errors.js';
import { connectionFor } from '../download/proxy.js';
import type { ImageReference } from './reference.js';

export const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
const MAX_MANIFEST = 4 << 20;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface Fetched {
  mediaType: string;
  body: Buffer;
  digest: string;
  url: string;
}

/**
 * A registry v2 client for pulls: anonymous bearer-token authentication
 * (the WWW-Authenticate challenge names the token realm), manifests fetched
 * by tag or digest with every byte checked against the digest it claims.
 */
export class RegistryClient {
  private token: string | undefined;

  constructor(
    private readonly ref: ImageReference,
    private readonly opts: { sink?: EventSink; signal?: AbortSignal | undefined },
  ) {}

  url(path: string): string {
    return `${this.ref.base}/v2/${this.ref.repository}/${path}`;
  }

  /** Headers a blob download needs (the bearer token, once one was obtained). */
  authHeaders(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** A manifest or index by tag or digest; when `expectDigest` is set the bytes must hash to it. */
  async manifest(reference: string, expectDigest?: string): Promise<Fetched> {
    const url = this.url(`manifests/${reference}`);
    const res = await this.get(url, [...INDEX_TYPES, ...MANIFEST_TYPES].join(', '));
    if (res.statusCode === 404) throw new SourceError(`${this.ref.text}: ${url}: manifest not found (HTTP 404)`);
    if (res.statusCode !== 200) throw new SourceError(`${this.ref.text}: ${url}: HTTP ${res.statusCode}`);
    const body = res.body;
    if (body.length > MAX_MANIFEST) throw new SourceError(`${url}: manifest of ${body.length} bytes is too large`);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (expectDigest && digest !== expectDigest) {
      throw new VerificationError(`${url}: manifest digest mismatch: expected ${expectDigest}, got ${digest}`);
    }
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
      throw new VerificationError(
        `${url}: the registry says the manifest is ${claimed} but its bytes hash to ${digest}`,
      );
    }
    let mediaType = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { mediaType?: string };
      if (parsed.mediaType) mediaType = parsed.mediaType;
    } catch {
      throw new SourceError(`${url}: the manifest is not JSON`);
    }
    return { mediaType, body, digest, url };
  }

  /** A small blob (the image config) into memory, checked against its digest. */
  async smallBlob(digest: string): Promise<Buffer> {
    const url = this.url(`blobs/${digest}`);
    const res = await this.get(url);
    if (res.statusCode !== 200) throw new SourceError(`${url}: HTTP ${res.statusCode}`);
    const actual = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    if (actual !== digest) throw new VerificationError(`${url}: blob digest mismatch: got ${actual}`);
    return res.body;
  }

  private async get(url: string, accept?: string): Promise<Response<Buffer>> {
    let res = await this.raw(url, accept);
    if (res.statusCode === 401) {
      await this.authenticate(String(res.headers['www-authenticate'] ?? ''), url);
      res = await this.raw(url, accept);
    }
    if (res.statusCode === 401) throw new SourceError(`${url}: the registry refused the token (HTTP 401)`);
    return res;
  }

  private raw(url: string, accept?: string): Promise<Response<Buffer>> {
    return got(url, {
      headers: { 'user-agent': 'kiln', ...(accept ? { accept } : {}), ...this.authHeaders() },
      ...connectionFor(new URL(url), this.opts.signal),
      responseType: 'buffer',
      throwHttpErrors: false,
      retry: { limit: 3, methods: ['GET'], statusCodes: [408, 429, 500, 502, 503, 504] },
      timeout: { connect: 30_000, response: 60_000, socket: 60_000 },
    }).catch((e: unknown) => {
      throw new SourceError(`${url}: ${(e as Error).message}`, { cause: e });
    });
  }

  private async authenticate(challenge: string, url: string): Promise<void> {
    const m = /^Bearer\s+(.*)$/i.exec(challenge.trim());
    if (!m) {
      throw new SourceError(
        `${url}: the registry asks for "${challenge.split(' ')[0] || 'unknown'}" authentication; kiln pulls anonymously with bearer tokens only`,
      );
    }
    const params = new Map<string, string>();
    for (const p of m[1]!.matchAll(/(\w+)="([^"]*)"/g)) params.set(p[1]!.toLowerCase(), p[2]!);
    const realm = params.get('realm');
    if (!realm) throw new SourceError(`${url}: the registry's token challenge has no realm`);
    const tokenUrl = new URL(realm);
    const service = params.get('service');
    if (service) tokenUrl.searchParams.set('service', service);
    tokenUrl.searchParams.set('scope', params.get('scope') ?? `repository:${this.ref.repository}:pull`);
    const res = await got(tokenUrl, {
      ...connectionFor(tokenUrl, this.opts.signal),
      responseType: 'buffer',
      throwHttpErrors: false,
      timeout: { connect: 30_000, response: 60_000 },
    }).catch((e: unknown) => {
      throw new SourceError(
        `${tokenUrl.origin}${tokenUrl.pathname}: cannot get a registry token: ${(e as Error).message}`,
        { cause: e },
      );
    });
    if (res.statusCode !== 200)
      throw new SourceError(`${tokenUrl.origin}${tokenUrl.pathname}: token request failed (HTTP ${res.statusCode})`);
    let json: { token?: string; access_token?: string };
    try {
      json = JSON.parse(res.body.toString('utf8')) as typeof json;
    } catch {
      throw new SourceError(`${tokenUrl.origin}${tokenUrl.pathname}: the token response is not JSON`);
    }
    const token = json.token ?? json.access_token;
    if (!token) throw new SourceError(`${tokenUrl.origin}${tokenUrl.pathname}: the token response has no token`);
    this.token = token;
  }
}
