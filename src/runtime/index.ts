import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { KilnError } from '../util/errors.js';
import { findRuntimeBinary } from './binary.js';
import { encodeSpec } from './encode-spec.js';
import { OutputTail } from './output-tail.js';
import { exitCodeOf, parseReportLine, type Report } from './report.js';
import type { RunResult, RunSpec } from './types.js';
import { validateSpec } from './validate-spec.js';

export { findRuntimeBinary } from './binary.js';
export { defaultLimits, withDefaultLimits } from './default-limits.js';
export type * from './types.js';
export { emulatorFor, needsEmulation, rootArchitecture } from './emulation.js';

/**
 * Runs one command or script in a fresh container over `spec.rootfs`
 * (native/kiln-run does the isolation). Resolves with how the step ended,
 * including a non-zero exit, a timeout or an OOM kill; rejects with a
 * KilnError only when the container could not be set up (bad spec, missing
 * runtime, a mount that failed). When it settles, the step's processes,
 * mounts and cgroup are gone.
 */
export async function runInContainer(spec: RunSpec): Promise<RunResult> {
  validateSpec(spec);
  const binary = findRuntimeBinary();
  const wire = encodeSpec(spec, process.pid);
  const started = Date.now();
  if (spec.signal?.aborted) return { end: { kind: 'aborted' }, exitCode: 130, tail: [], durationMs: 0 };

  const child = spawn(binary, [], {
    stdio: [spec.stdin === 'inherit' ? 'inherit' : 'ignore', 'pipe', 'pipe', 'pipe'],
    // The runtime's own environment; the step's is only what spec.env says.
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const control = child.stdio[3] as (Readable & Writable) | null;
  const tail = new OutputTail();
  const report: Report = { warnings: [], errors: [] };

  const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    tail.push(stream, chunk);
    spec.onOutput?.(stream, chunk);
  };
  child.stdout?.on('data', onData('stdout'));
  child.stderr?.on('data', onData('stderr'));

  let pending = '';
  control?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) parseReportLine(line, report);
  });
  control?.on('error', () => {
    /* the runtime died: its exit status says how */
  });
  // Kept open after the spec: the runtime treats EOF as kiln's death.
  control?.write(wire);

  const abort = (): void => {
    child.kill('SIGTERM');
  };
  spec.signal?.addEventListener('abort', abort, { once: true });
  const unforward = spec.forwardSignals ? forwardSignals(child.kill.bind(child)) : () => {};

  try {
    const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(new KilnError(`cannot start the container runtime ${binary}: ${e.message}`, { cause: e })),
      );
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    if (pending) parseReportLine(pending, report);
    const durationMs = Date.now() - started;
    const end = report.end;
    if (end === undefined || end === 'error') {
      const why =
        report.errors[0] ??
        (status.signal ? `the runtime was killed by ${status.signal}` : `the runtime exited with ${status.code}`);
      throw new KilnError(`container on ${spec.rootfs}: ${why}`, {
        details: [...report.errors.slice(1), ...tail.finish().slice(-10)],
      });
    }
    const warnings = [...report.warnings, ...report.errors];
    return {
      end,
      exitCode: exitCodeOf(end),
      tail: tail.finish(),
      durationMs,
      ...(warnings.length ? { warnings } : {}),
    };
  } finally {
    spec.signal?.removeEventListener('abort', abort);
    unforward();
    control?.destroy();
  }
}

/** Relays kiln's signals to the runtime while a `kiln run` step is going. */
function forwardSignals(kill: (signal: NodeJS.Signals) => boolean): () => void {
  let interrupts = 0;
  const handlers: Partial<Record<NodeJS.Signals, () => void>> = {
    SIGINT: () => {
      interrupts += 1;
      kill(interrupts > 1 ? 'SIGTERM' : 'SIGINT');
    },
    SIGHUP: () => kill('SIGHUP'),
    SIGQUIT: () => kill('SIGQUIT'),
    SIGTERM: () => kill('SIGTERM'),
  };
  for (const [sig, h] of Object.entries(handlers)) process.on(sig as NodeJS.Signals, h);
  return () => {
    for (const [sig, h] of Object.entries(handlers)) process.off(sig, h);
  };
}
