import { appendFileSync } from 'node:fs';
import type { EventSink, KilnEvent } from '../util/events.js';

function describe(e: KilnEvent): string | undefined {
  switch (e.type) {
    case 'stage':
      return `==> ${e.stage} ${e.status}${e.durationMs !== undefined ? ` (${(e.durationMs / 1000).toFixed(1)}s)` : ''}`;
    case 'step':
      return `  -> ${e.step} ${e.status}${e.exitCode !== undefined ? ` (exit ${e.exitCode})` : ''}`;
    case 'log':
      return `${e.level}: ${e.message}`;
    case 'output':
      return `   | ${e.line}`;
    case 'artifact':
      return `artifact ${e.path} ${e.size} ${e.sha256}`;
    case 'build':
      return `build ${e.status}${e.reason ? `: ${e.reason}` : ''}`;
    case 'result':
      return e.message;
    case 'progress':
      return undefined;
  }
}

/**
 * A build's own log file: every event as a readable line with a timestamp
 * (progress is left out). Written synchronously so the log is complete even
 * when the build dies.
 */
export class LogFileSink implements EventSink {
  constructor(readonly file: string) {}
  emit(e: KilnEvent): void {
    const line = describe(e);
    if (line !== undefined) this.write(line);
  }
  write(text: string): void {
    const stamp = new Date().toISOString();
    appendFileSync(
      this.file,
      text
        .split('\n')
        .map((l) => `${stamp} ${l}`)
        .join('\n') + '\n',
    );
  }
}
