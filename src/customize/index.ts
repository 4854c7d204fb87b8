import type { ImageMetadata } from '../pack/types.js';
import type { CustomizeStep, Plan } from '../plan/types.js';
import type { EventSink } from '../util/events.js';
import { KilnError, StepError } from '../util/errors.js';
import { generators } from './generators/index.js';
import { runStepInContainer } from './run-step.js';
import { emptyMetadata } from './metadata.js';

export interface CustomizeOptions {
  plan: Plan;
  rootfs: string;
  sink: EventSink;
  signal?: AbortSignal;
}

/**
 * Executes the plan's customization steps in order. Everything that runs
 * code of the image runs inside a container; generators write on the host
 * but only through paths resolved inside the root.
 */
export async function customize(opts: CustomizeOptions): Promise<ImageMetadata> {
  const metadata = emptyMetadata();
  for (const step of opts.plan.steps) {
    opts.signal?.throwIfAborted();
    const started = Date.now();
    opts.sink.emit({ type: 'step', step: step.name, status: 'start' });
    try {
      await runStep(step, opts, metadata);
    } catch (e) {
      opts.sink.emit({
        type: 'step',
        step: step.name,
        status: 'failed',
        durationMs: Date.now() - started,
        ...(e instanceof KilnError ? { exitCode: e.exitCode } : {}),
      });
      if (e instanceof KilnError && !(e instanceof StepError)) {
        throw new StepError(step.name, e.message, { exitCode: e.exitCode, details: e.details, cause: e });
      }
      throw e;
    }
    opts.sink.emit({ type: 'step', step: step.name, status: 'done', durationMs: Date.now() - started });
  }
  return metadata;
}

async function runStep(step: CustomizeStep, opts: CustomizeOptions, metadata: ImageMetadata): Promise<void> {
  const base = { name: step.name, rootfs: opts.rootfs, env: opts.plan.environment, sink: opts.sink, ...(opts.signal ? { signal: opts.signal } : {}) };
  switch (step.kind) {
    case 'action':
      return runStepInContainer({ ...base, script: step.script, ...(step.timeoutSeconds ? { timeoutSeconds: step.timeoutSeconds } : {}) });
    case 'packages':
      return runStepInContainer({ ...base, argv: step.argv });
    case 'generator': {
      const gen = generators[step.generator];
      if (!gen) throw new KilnError(`generator '${step.generator}' is not implemented yet; available: ${Object.keys(generators).join(', ')}`);
      return gen.run({ rootfs: opts.rootfs, entry: step.entry, step: step.name, plan: opts.plan, metadata, sink: opts.sink });
    }
    case 'repositories':
      if (step.repositories.length === 0) return;
      throw new KilnError(`repositories for manager '${step.manager}' are not implemented yet`);
    case 'internal':
      return;
  }
}
