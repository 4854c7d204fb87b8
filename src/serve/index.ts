/**
 * `kiln serve`: a static server for an image tree, made for LXC, LXD and
 * Incus clients: what lxc-create's download template and the simplestreams clients request.
 */
import { closeSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join, resolve } from 'node:path';
import { KilnError } from '../util/errors.js';
import { log, nullSink, type EventSink } from '../util/events.js';
import { catalogFile, type CatalogData } from '../publish/index.js';
import { openAccessLog, type AccessLog } from './access-log.js';
import { CATALOG_CSP, renderCatalogPage } from './catalog-page.js';
import type { PublicAddress } from './client-commands.js';
import { contentType } from './content-type.js';
import { renderDirListing } from './dir-listing.js';
import { ConnectionHub } from './listener.js';
import { parseRequestPath } from './request-path.js';
import { resolveInTree } from './resolve-file.js';
import { SmallFileCache } from './small-file-cache.js';
import { readSmall, sendFile, type FileSource } from './static-file.js';
import { ensureLocalTls } from './tls.js';

export interface ServeTimeouts {
  /** Whole request head must arrive within this (slowloris). */
  headersMs: number;
  /** Whole request must arrive within this. */
  requestMs: number;
  /** A connection with no traffic either way is closed after this. */
  idleMs: number;
  keepAliveMs: number;
  /** TLS handshake and the first byte of a connection. */
  handshakeMs: number;
  /** How long close() waits for requests in flight. */
  shutdownMs: number;
}

export const DEFAULT_TIMEOUTS: ServeTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  idleMs: 60_000,
  keepAliveMs: 5_000,
  handshakeMs: 10_000,
  shutdownMs: 10_000,
};

export interface ServeOptions {
  tree: string;
  listen: { host: string; port: number };
  /** A second, plain-HTTP listener. The HTTPS port answers plain HTTP too. */
  httpListen?: { host: string; port: number } | undefined;
  /** PEM files; without them a local CA under `<tree>/.kiln/tls/` signs a server certificate. */
  cert?: string | undefined;
  key?: string | undefined;
  sink?: EventSink | undefined;
  /** File to append Combined Log Format lines to, or `-` for stdout. */
  accessLog?: string | undefined;
  /** Serve the tree under this URL path (`/mirror`) instead of at `/`. */
  prefix?: string | undefined;
  maxConnections?: number | undefined;
  timeouts?: Partial<ServeTimeouts>;
  /** How long files up to 64 KiB (the indexes) are kept in memory; 0 turns it off. Default 1000 ms. */
  smallFileCacheMs?: number;
}

export interface RunningServer {
  httpsPort: number;
  httpPort?: number | undefined;
  /** The local CA clients must trust (absent with --cert/--key). */
  caPath?: string | undefined;
  /** A wgetrc with `ca_certificate = caPath`, for the LXC client. */
  wgetrcPath?: string | undefined;
  /** URL path prefix, '' or like `/mirror`. */
  prefix: string;
  close(): Promise<void>;
}

function normalizePrefix(p: string | undefined): string {
  const segs = (p ?? '').split('/').filter(Boolean);
  for (const s of segs) {
    if (s.startsWith('.') || !/^[A-Za-z0-9_.:+-]+$/.test(s))
      throw new KilnError(
        `--prefix '${p}': path segments may use letters, digits and '_.:+-' and must not start with '.'`,
      );
  }
  return segs.length ? `/${segs.join('/')}` : '';
}

/** The newest catalog build report, from `reports/latest.json` (written by `kiln build --catalog`). */
async function latestReport(root: string): Promise<string | undefined> {
  try {
    const data = JSON.parse(await readFile(join(root, 'reports', 'latest.json'), 'utf8')) as { path?: unknown };
    return typeof data.path === 'string' && /^reports\/[\w.:-]+\/report\.html$/.test(data.path) ? data.path : undefined;
  } catch {
    return undefined;
  }
}

/** Index files change on every publish; build files never change once published. */
function cacheControlFor(rel: string): string {
  return rel.startsWith('images/') ? 'public, max-age=86400' : 'no-cache';
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const sink = opts.sink ?? nullSink;
  const timeouts: ServeTimeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const treeAbs = resolve(opts.tree);
  const st = await stat(treeAbs).catch(() => undefined);
  if (!st?.isDirectory())
    throw new KilnError(`${treeAbs}: not a directory; give the image tree to serve (the --out of kiln build)`);
  const root = await realpath(treeAbs);
  const prefix = normalizePrefix(opts.prefix);
  const prefixSegs = prefix.split('/').filter(Boolean);

  let cert: Buffer;
  let key: Buffer;
  let caPath: string | undefined;
  let wgetrcPath: string | undefined;
  if (opts.cert || opts.key) {
    if (!opts.cert || !opts.key)
      throw new KilnError('--cert and --key go together: give both PEM files or neither (then kiln makes a local CA)');
    cert = await readFile(opts.cert).catch(() => {
      throw new KilnError(`${opts.cert}: cannot read the certificate`);
    });
    key = await readFile(opts.key).catch(() => {
      throw new KilnError(`${opts.key}: cannot read the private key`);
    });
  } else {
    const tls = await ensureLocalTls(root, opts.listen.host, sink);
    cert = await readFile(tls.certPath);
    key = await readFile(tls.keyPath);
    caPath = tls.caPath;
    wgetrcPath = tls.wgetrcPath;
  }

  const accessLog: AccessLog | undefined = opts.accessLog ? openAccessLog(opts.accessLog) : undefined;
  let closing = false;
  let httpsPort = 0;
  const smallFiles = new SmallFileCache(opts.smallFileCacheMs ?? 1000, 256, 64 * 1024);
  let catalogCache: { key: string; data: CatalogData } | undefined;

  async function catalog(): Promise<CatalogData> {
    const file = catalogFile(root);
    const s = await stat(file).catch(() => undefined);
    if (!s) return { generated: new Date(0).toISOString(), products: [] };
    const key = `${s.ino}:${s.size}:${s.mtimeMs}`;
    if (catalogCache?.key !== key)
      catalogCache = { key, data: JSON.parse(await readFile(file, 'utf8')) as CatalogData };
    return catalogCache.data;
  }

  function publicAddress(req: IncomingMessage, encrypted: boolean): PublicAddress {
    const hostHeader = req.headers.host ?? '';
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostHeader);
    const wildcard = opts.listen.host === '0.0.0.0' || opts.listen.host === '::' || opts.listen.host === '';
    const host = m ? m[1]!.replace(/^\[|\]$/g, '') : wildcard ? '127.0.0.1' : opts.listen.host;
    const port = encrypted && m?.[2] ? Number(m[2]) : httpsPort;
    return { host, port, prefix };
  }

  function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  }

  function html(req: IncomingMessage, res: ServerResponse, body: string, csp: string): void {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const encrypted = Boolean((req.socket as TLSSocket).encrypted);
    const started = process.hrtime.bigint();
    if (accessLog) {
      const client = req.socket.remoteAddress;
      res.once('close', () => accessLog.record(req, res, started, encrypted ? 'https' : 'http', client));
    }
    res.setHeader('Server', 'kiln');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (closing) res.setHeader('Connection', 'close');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    const parsed = parseRequestPath(req.url ?? '');
    if (!parsed.ok) {
      plain(res, parsed.status, parsed.status === 404 ? 'not found\n' : `bad request: ${parsed.reason}\n`);
      return;
    }
    let segments = parsed.segments;
    if (prefixSegs.length) {
      if (!prefixSegs.every((s, i) => segments[i] === s)) {
        plain(res, 404, 'not found\n');
        return;
      }
      segments = segments.slice(prefixSegs.length);
    }
    if (segments.length === 0) {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('q') ?? '';
      const report = await latestReport(root);
      html(
        req,
        res,
        renderCatalogPage(await catalog(), {
          address: publicAddress(req, encrypted),
          wgetrc: wgetrcPath,
          caPath,
          query: q.slice(0, 200),
          ...(report ? { report } : {}),
        }),
        CATALOG_CSP,
      );
      return;
    }
    const key = segments.join('/');
    const cached = parsed.directory ? undefined : smallFiles.get(key, Date.now());
    if (cached) {
      await sendFile(req, res, { buffer: cached.body }, cached.stat, {
        contentType: contentType(segments[segments.length - 1]!),
        cacheControl: cacheControlFor(cached.rel),
      });
      return;
    }
    const found = resolveInTree(root, segments);
    if (found.kind === 'missing' || (found.kind === 'file' && parsed.directory)) {
      if (found.kind === 'file') closeSync(found.fd);
      plain(res, 404, 'not found\n');
      return;
    }
    if (found.kind === 'dir') {
      html(
        req,
        res,
        await renderDirListing(root, found.path, found.rel, prefix),
        "default-src 'none'; style-src 'unsafe-inline'",
      );
      return;
    }
    let source: FileSource = { fd: found.fd };
    if (found.stat.size <= smallFiles.maxSize) {
      try {
        source = { buffer: readSmall(found.fd, found.stat.size) };
      } finally {
        closeSync(found.fd);
      }
      smallFiles.set(key, source.buffer, found.stat, found.rel, Date.now());
    }
    await sendFile(req, res, source, found.stat, {
      contentType: contentType(segments[segments.length - 1]!),
      cacheControl: cacheControlFor(found.rel),
    });
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      log(sink, 'error', `serving ${req.url}: ${(e as Error).message}`);
      if (!res.headersSent) plain(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
  const serverOpts = {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionsCheckingInterval: Math.min(1000, timeouts.headersMs),
    maxHeaderSize: 16 * 1024,
  };
  const httpServer = createHttpServer(serverOpts, onRequest);
  const httpsServer = createHttpsServer(
    { ...serverOpts, cert, key, handshakeTimeout: timeouts.handshakeMs, minVersion: 'TLSv1.2' },
    onRequest,
  );
  for (const s of [httpServer, httpsServer]) {
    s.timeout = timeouts.idleMs;
    s.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable || socket.destroyed || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const body = timeout ? 'request timeout\n' : 'bad request\n';
      socket.end(
        `HTTP/1.1 ${timeout ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
  }
  httpsServer.on('tlsClientError', () => undefined);

  const hub = new ConnectionHub(httpServer, httpsServer, {
    maxConnections: opts.maxConnections ?? 512,
    firstByteTimeoutMs: timeouts.handshakeMs,
  });
  try {
    httpsPort = await hub.listen(opts.listen.host, opts.listen.port);
  } catch (e) {
    throw new KilnError(`cannot listen on ${opts.listen.host}:${opts.listen.port}: ${(e as Error).message}`);
  }
  let httpPort: number | undefined;
  if (opts.httpListen) {
    try {
      httpPort = await hub.listen(opts.httpListen.host, opts.httpListen.port);
    } catch (e) {
      await hub.close(0);
      throw new KilnError(`cannot listen on ${opts.httpListen.host}:${opts.httpListen.port}: ${(e as Error).message}`);
    }
  }
  if (
    !(await stat(catalogFile(root)).catch(() => undefined)) &&
    (await stat(`${root}/images`).catch(() => undefined))
  ) {
    log(
      sink,
      'warn',
      `${root} has images but no kiln indexes (copied without its .kiln directory?); run 'kiln index ${root}'`,
    );
  }
  log(sink, 'info', `serving ${root} on https port ${httpsPort}${httpPort ? ` and http port ${httpPort}` : ''}`);

  let closed: Promise<void> | undefined;
  return {
    httpsPort,
    httpPort,
    caPath,
    wgetrcPath,
    prefix,
    close() {
      closed ??= (async () => {
        closing = true;
        await hub.close(timeouts.shutdownMs);
        await accessLog?.close();
      })();
      return closed;
    },
  };
}
