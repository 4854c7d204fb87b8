import { createWriteStream, type WriteStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface AccessLog {
  /** `client`: the peer address, read when the request came (a closed TLS socket no longer has it). */
  record(
    req: IncomingMessage,
    res: ServerResponse,
    startedNs: bigint,
    scheme: string,
    client: string | undefined,
  ): void;
  close(): Promise<void>;
}

function quote(s: string | undefined): string {
  return s === undefined
    ? '-'
    : // eslint-disable-next-line no-control-regex -- control characters are what this refuses
      s.replace(/[\u0000-\u001f\u007f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function clfDate(d: Date): string {
  const m = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * Combined Log Format plus the duration, the scheme and whether the client
 * went away before the response finished. `-` writes to stdout.
 */
export function openAccessLog(target: string): AccessLog {
  const out: NodeJS.WritableStream | WriteStream =
    target === '-' ? process.stdout : createWriteStream(target, { flags: 'a' });
  return {
    record(req, res, startedNs, scheme, client) {
      const ms = Number(process.hrtime.bigint() - startedNs) / 1e6;
      const len = res.getHeader('content-length');
      const bytes = req.method === 'HEAD' || res.statusCode === 304 || len === undefined ? 0 : Number(len);
      const line = `${client ?? '-'} - - [${clfDate(new Date())}] "${quote(req.method)} ${quote(req.url)} HTTP/${req.httpVersion}" ${res.statusCode} ${bytes} "${quote(req.headers.referer)}" "${quote(req.headers['user-agent'])}" ${ms.toFixed(1)}ms ${scheme}${res.writableFinished ? '' : ' aborted'}\n`;
      out.write(line);
    },
    close() {
      if (out === process.stdout) return Promise.resolve();
      return new Promise((resolve) => (out as WriteStream).end(resolve));
    },
  };
}
