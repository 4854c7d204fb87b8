import type { EventSink, KilnEvent } from '../util/events.js';

interface Running {
  stage: string;
  progress: string;
  started: number;
}

/**
 * What a person sees during a catalog run. On a TTY: one line per running
 * build (stage, progress, elapsed), redrawn in place, with finished builds
 * printed above. Elsewhere (CI logs): one line per build state change.
 */
export class CatalogView implements EventSink {
  private readonly running = new Map<string, Running>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {
    if (out.isTTY) {
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
    }
  }

  emit(e: KilnEvent): void {
    const id = e.build;
    if (!id) {
      if (e.type === 'log' && (e.level === 'warn' || e.level === 'error')) this.print(`${e.level}: ${e.message}`);
      return;
    }
    if (e.type === 'build') {
      if (e.status === 'start') this.running.set(id, { stage: 'plan', progress: '', started: Date.now() });
      else if (e.status !== 'queued') {
        this.running.delete(id);
        const took = e.durationMs !== undefined ? ` in ${(e.durationMs / 1000).toFixed(1)}s` : '';
        this.print(`${e.status.padEnd(11)} ${id}${took}${e.reason ? `: ${e.reason}` : ''}`);
      }
      return;
    }
    const r = this.running.get(id);
    if (!r) return;
    if (e.type === 'stage' && e.status === 'start') {
      r.stage = e.stage;
      r.progress = '';
      if (!this.out.isTTY) this.print(`            ${id}: ${e.stage}`);
    } else if (e.type === 'step' && e.status === 'start') r.progress = e.step;
    else if (e.type === 'progress')
      r.progress = e.total ? `${e.task} ${Math.floor((100 * e.done) / e.total)}%` : `${e.task} ${e.done}`;
  }

  private print(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }

  private clear(): void {
    if (!this.out.isTTY || this.drawn === 0) return;
    this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.out.isTTY) return;
    this.clear();
    const width = this.out.columns ?? 100;
    for (const [id, r] of this.running) {
      const secs = Math.floor((Date.now() - r.started) / 1000);
      this.out.write(`${`  ${id}  ${r.stage}  ${r.progress}  ${secs}s`.slice(0, width - 1)}\n`);
      this.drawn++;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}
