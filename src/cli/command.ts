import type { EventSink } from '../util/events.js';

/** What every subcommand gets: its own arguments and where to report. */
export interface CommandContext {
  argv: string[];
  /** Structured events (`--json`) or the terminal renderer. */
  sink: EventSink;
  json: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. Throws KilnError for user mistakes. */
  run(ctx: CommandContext): Promise<number>;
}
