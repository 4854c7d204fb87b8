/**
 * Errors a user can act on. The CLI prints `message` (one line, or the
 * diagnostics of a definition) and exits with `exitCode`, never a stack trace.
 * Anything that is not a KilnError is a bug in kiln and is printed with its
 * stack.
 */
export class KilnError extends Error {
  readonly exitCode: number;
  /** Extra lines shown under the message (e.g. the last output of a step). */
  readonly details: string[];
  constructor(message: string, opts: { exitCode?: number; details?: string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? 1;
    this.details = opts.details ?? [];
  }
}

/** Wrong command-line usage: exit code 2. */
export class UsageError extends KilnError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** One problem in a definition file, with its position. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Key path such as `packages.sets[2].action`, or '' for the document. */
  path: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.path ? `${d.path}: ` : '';
  return `${d.file}:${d.line}:${d.col}: ${where}${d.message}`;
}

/** A definition with one or more problems; all of them are reported at once. */
export class DefinitionError extends KilnError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'), { exitCode: 1 });
    this.diagnostics = diagnostics;
  }
}

/** A build step failed (inside the container or on the host). */
export class StepError extends KilnError {
  readonly step: string;
  constructor(step: string, message: string, opts: { exitCode?: number; details?: string[]; cause?: unknown } = {}) {
    super(`step ${step}: ${message}`, opts);
    this.step = step;
  }
}

export function isKilnError(e: unknown): e is KilnError {
  return e instanceof KilnError;
}

/** A foreign architecture this host cannot build: no emulator known, or its interpreter is not installed. */
export class EmulationError extends KilnError {}
