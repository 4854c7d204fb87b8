import path from 'node:path';
import { execa } from 'execa';
import { log } from '../util/events.js';
import type { SourceContext } from './types.js';
import { SourceError } from './errors.js';

/** Runs a host tool (bootstrapper, make), streaming its output as events; a failure carries the last lines. */
export async function runStreaming(
  ctx: SourceContext,
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<void> {
  const tail: string[] = [];
  log(ctx.sink, 'debug', `running ${cmd} ${args.join(' ')}`);
  const child = execa(cmd, args, {
    reject: false,
    env: { DEBIAN_FRONTEND: 'noninteractive', ...opts.env },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(ctx.signal ? { cancelSignal: ctx.signal } : {}),
    buffer: false,
    stdin: 'ignore',
  });
  const forward = (stream: 'stdout' | 'stderr') => (text: string) => {
    tail.push(text);
    if (tail.length > 20) tail.shift();
    ctx.sink.emit({ type: 'output', step: 'source', stream, line: text });
  };
  splitLines(child.stdout, forward('stdout'));
  splitLines(child.stderr, forward('stderr'));
  const r = await child;
  if (r.exitCode !== 0) {
    const name = path.basename(cmd);
    throw new SourceError(`${name} failed (exit ${r.exitCode ?? r.signal ?? 'unknown'})`, { details: tail.slice(-10) });
  }
}

function splitLines(stream: NodeJS.ReadableStream | null, onLine: (l: string) => void): void {
  if (!stream) return;
  let buf = '';
  stream.on('data', (s: string | Buffer) => {
    buf += s.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (buf) onLine(buf);
  });
}
