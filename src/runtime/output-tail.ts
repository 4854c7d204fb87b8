/**
 * The last lines a step printed, stdout and stderr interleaved as they
 * arrived: what an error message shows when a step fails.
 */
export class OutputTail {
  private readonly lines: string[] = [];
  private readonly partial = { stdout: '', stderr: '' };

  constructor(private readonly max = 50) {}

  push(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const parts = (this.partial[stream] + chunk.toString('utf8')).split('\n');
    this.partial[stream] = (parts.pop() ?? '').slice(-4096);
    for (const line of parts) this.add(line);
  }

  private add(line: string): void {
    this.lines.push(line.length > 1000 ? `${line.slice(0, 1000)}...` : line);
    if (this.lines.length > this.max) this.lines.shift();
  }

  finish(): string[] {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.add(this.partial[stream]);
      this.partial[stream] = '';
    }
    return [...this.lines];
  }
}
