import type { EventSink, KilnEvent } from '../util/events.js';
import { humanSize } from '../util/size.js';
import path from 'node:path';

/**
 * Turns events into what a person or a program reads:
 * - `--json`: one JSON object per line, every event;
 * - a TTY: stage lines plus one progress line redrawn in place;
 * - anything else (CI logs): stage lines and warnings only.
 */
export function makeSink(opts: { json: boolean; stream: NodeJS.WriteStream; verbose?: boolean }): EventSink {
  if (opts.json) return new JsonSink(opts.stream);
  return new TextSink(opts.stream, Boolean(opts.stream.isTTY), opts.verbose ?? false);
}

class JsonSink implements EventSink {
  constructor(private readonly out: NodeJS.WritableStream) {}
  emit(event: KilnEvent): void {
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  }
}

class TextSink implements EventSink {
  private progressShown = false;
  private lastDraw = 0;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean,
    private readonly verbose: boolean,
  ) {}

  private line(text: string): void {
    if (this.progressShown) {
      this.out.write('\r\x1b[2K');
      this.progressShown = false;
    }
    this.out.write(`${text}\n`);
  }

  emit(e: KilnEvent): void {
    switch (e.type) {
      case 'stage':
        if (e.status === 'start') this.line(`==> ${e.stage}`);
        else if (e.status === 'failed') this.line(`==> ${e.stage} failed`);
        else if (this.verbose) this.line(`==> ${e.stage} done (${((e.durationMs ?? 0) / 1000).toFixed(1)}s)`);
        return;
      case 'step':
        if (e.status === 'start') this.line(`  -> ${e.step}`);
        else if (e.status === 'failed')
          this.line(`  -> ${e.step} failed${e.exitCode !== undefined ? ` (exit ${e.exitCode})` : ''}`);
        return;
      case 'progress': {
        if (!this.tty) return;
        const now = Date.now();
        const finished = e.total !== undefined && e.done >= e.total;
        if (!finished && now - this.lastDraw < 100) return;
        this.lastDraw = now;
        const amount = e.unit === 'bytes' ? humanSize(e.done) : String(e.done);
        const total = e.total === undefined ? '' : ` / ${e.unit === 'bytes' ? humanSize(e.total) : e.total}`;
        const pct = e.total ? ` ${Math.floor((100 * e.done) / e.total)}%` : '';
        this.out.write(`\r\x1b[2K     ${e.task}: ${amount}${total}${pct}`);
        this.progressShown = true;
        if (finished) this.line('');
        return;
      }
      case 'log':
        if (e.level === 'debug' && !this.verbose) return;
        if (e.level === 'info' && !this.verbose && !this.tty) return;
        this.line(e.level === 'info' ? `     ${e.message}` : `${e.level}: ${e.message}`);
        return;
      case 'output':
        if (this.verbose) this.line(`     | ${e.line}`);
        return;
      case 'artifact':
        this.line(`     ${path.basename(e.path)} (${humanSize(e.size)})`);
        return;
      case 'result':
        if (e.message) this.line(e.message);
        return;
    }
  }
}
