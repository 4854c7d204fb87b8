import { runInContainer } from './index.js';
import type { RunSpec } from './types.js';
import type { EventSink } from '../util/events.js';
import { StepError } from '../util/errors.js';
import { BUILD_HOSTNAME } from './build-hostname.js';

export interface InContainerStep {
  name: string;
  rootfs: string;
  env: Record<string, string>;
  argv?: string[];
  script?: string;
  timeoutSeconds?: number;
  sink: EventSink;
  signal?: AbortSignal | undefined;
  /** Limits and user-namespace permission (the definition's `runtime`); defaults when absent. */
  runtime?: Pick<RunSpec, 'limits' | 'allowUserNamespaces'>;
  /** Default `host` (package mirrors). */
  network?: RunSpec['network'];
  /** The qemu-user emulator of a foreign-architecture root. */
  emulator?: RunSpec['emulator'];
}

/**
 * Runs one build step inside a fresh container over the image root, streams
 * its output as events, and turns any failure into a StepError carrying the
 * step's exit code and its last output lines.
 */
export async function runStepInContainer(step: InContainerStep): Promise<void> {
  const partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  const onOutput = (stream: 'stdout' | 'stderr', chunk: Buffer): void => {
    const text = partial[stream] + chunk.toString('utf8');
    const lines = text.split('\n');
    partial[stream] = lines.pop() ?? '';
    for (const line of lines) step.sink.emit({ type: 'output', step: step.name, stream, line });
  };
  const spec: RunSpec = {
    rootfs: step.rootfs,
    env: step.env,
    hostname: BUILD_HOSTNAME,
    network: step.network ?? 'host',
    onOutput,
    ...(step.argv ? { argv: step.argv } : {}),
    ...(step.script !== undefined ? { script: step.script } : {}),
    ...(step.timeoutSeconds ? { timeoutMs: step.timeoutSeconds * 1000 } : {}),
    ...(step.signal ? { signal: step.signal } : {}),
    ...step.runtime,
    ...(step.emulator ? { emulator: step.emulator } : {}),
  };
  const result = await runInContainer(spec);
  for (const stream of ['stdout', 'stderr'] as const) {
    if (partial[stream]) step.sink.emit({ type: 'output', step: step.name, stream, line: partial[stream] });
  }
  const end = result.end;
  if (end.kind === 'exited' && end.exitCode === 0) return;
  const why =
    end.kind === 'exited'
      ? `exited with code ${end.exitCode}`
      : end.kind === 'signaled'
        ? `was killed by ${end.signal}`
        : end.kind === 'timeout'
          ? `timed out after ${step.timeoutSeconds ?? '?'}s`
          : end.kind === 'oom'
            ? 'ran out of memory (raise runtime.memory in the definition if the step needs more)'
            : 'was aborted';
  throw new StepError(step.name, why, {
    exitCode: result.exitCode || 1,
    details: result.tail.length ? ['last output:', ...result.tail.slice(-15).map((l) => `| ${l}`)] : [],
  });
}
