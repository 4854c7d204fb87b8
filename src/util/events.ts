/**
 * Progress and log events. Every long-running piece reports through an
 * EventSink; the CLI picks a sink that draws on a TTY, prints plain lines, or
 * writes one JSON object per line (`--json`).
 */
type KilnEventBody =
  | { type: 'stage'; stage: string; status: 'start' | 'done' | 'failed'; durationMs?: number }
  | { type: 'step'; step: string; status: 'start' | 'done' | 'failed'; durationMs?: number; exitCode?: number }
  | { type: 'progress'; task: string; done: number; total?: number; unit: 'bytes' | 'entries' | 'items' }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; step?: string }
  | { type: 'output'; step: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'artifact'; path: string; size: number; sha256: string }
  | { type: 'result'; status: 'ok' | 'failed' | 'skipped'; message?: string; [k: string]: unknown }
  | {
      type: 'build';
      status: 'queued' | 'start' | 'published' | 'bundled' | 'unchanged' | 'failed' | 'quarantined';
      reason?: string;
      durationMs?: number;
    };

/** Every event; in catalog runs each carries the id (`dist:release:arch:variant`) of its build. */
export type KilnEvent = KilnEventBody & { build?: string };

export interface EventSink {
  emit(event: KilnEvent): void;
}

export const nullSink: EventSink = { emit() {} };

/** Collects events in memory (used by tests and by the build log). */
export class MemorySink implements EventSink {
  readonly events: KilnEvent[] = [];
  emit(event: KilnEvent): void {
    this.events.push(event);
  }
}

export function teeSink(...sinks: EventSink[]): EventSink {
  return { emit: (e) => sinks.forEach((s) => s.emit(e)) };
}

export function log(sink: EventSink, level: 'debug' | 'info' | 'warn' | 'error', message: string, step?: string): void {
  sink.emit(step === undefined ? { type: 'log', level, message } : { type: 'log', level, message, step });
}
