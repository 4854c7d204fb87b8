import { constants } from 'node:os';
import type { RunEnd } from './types.js';

/** What native/kiln-run says on fd 3, one line each. */
export interface Report {
  warnings: string[];
  errors: string[];
  end?: RunEnd | 'error';
}

export function signalName(n: number): string {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name;
  return `SIG${n}`;
}

export function parseReportLine(line: string, report: Report): void {
  const space = line.indexOf(' ');
  const kind = space < 0 ? line : line.slice(0, space);
  const rest = space < 0 ? '' : line.slice(space + 1);
  if (kind === 'warn') report.warnings.push(rest);
  else if (kind === 'error') report.errors.push(rest);
  else if (kind === 'end') report.end = parseEnd(rest);
}

function parseEnd(text: string): RunEnd | 'error' {
  const [what, arg] = text.split(' ');
  switch (what) {
    case 'exited':
      return { kind: 'exited', exitCode: Number(arg) };
    case 'signaled':
      return { kind: 'signaled', signal: signalName(Number(arg)) };
    case 'timeout':
      return { kind: 'timeout' };
    case 'oom':
      return { kind: 'oom' };
    case 'aborted':
      return { kind: 'aborted' };
    default:
      return 'error';
  }
}

/** The shell's convention: 128+signal, 124 for a timeout, 137 for OOM. */
export function exitCodeOf(end: RunEnd): number {
  switch (end.kind) {
    case 'exited':
      return end.exitCode;
    case 'signaled':
      return 128 + (constants.signals[end.signal as keyof typeof constants.signals] ?? 0);
    case 'timeout':
      return 124;
    case 'oom':
      return 137;
    case 'aborted':
      return 130;
  }
}
