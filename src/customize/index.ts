import type { ImageMetadata } from '../pack/types.js';
import type { CustomizeStep, Plan } from '../plan/types.js';
import type { EventSink } from '../util/events.js';
import { log } from '../util/events.js';
import { KilnError, StepError } from '../util/errors.js';
import { generators } from './generators/index.js';
import { internalActions } from './internal/index.js';
import type { UndoList } from './internal/types.js';
import { repositoryHandlers } from './repositories/index.js';
import { runStepInContainer } from '../runtime/run-step.js';
import { emulatorFor } from '../runtime/emulation.js';
import { stepRuntime } from './step-limits.js';
import { emptyMetadata } from './metadata.js';

export interface CustomizeOptions {
  plan: Plan;
  rootfs: string;
  sink: EventSink;
  signal?: AbortSignal | undefined;
}

/**
 * Executes the plan's customization steps in order. Everything that runs
 * code of the image runs inside a container; generators write on the host
 * but only through paths resolved inside the root. What kiln put into the
 * image only for the build (policy-rc.d) is taken out again even when a
 * step fails.
 */
export async function customize(opts: CustomizeOptions): Promise<ImageMetadata> {
  const metadata = emptyMetadata();
  const undo: UndoList = new Map();
  try {
    for (const step of opts.plan.steps) {
      opts.signal?.throwIfAborted();
      const started = Date.now();
      opts.sink.emit({ type: 'step', step: step.name, status: 'start' });
      try {
        await runStep(step, opts, metadata, undo);
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
  } finally {
    for (const [what, fn] of [...undo].reverse()) {
      try {
        await fn();
      } catch (e) {
        log(opts.sink, 'warn', `could not undo ${what} after the failure: ${(e as Error).message}`);
      }
    }
  }
  return metadata;
}

async function runStep(
  step: CustomizeStep,
  opts: CustomizeOptions,
  metadata: ImageMetadata,
  undo: UndoList,
): Promise<void> {
  const base = {
    name: step.name,
    rootfs: opts.rootfs,
    env: opts.plan.environment,
    sink: opts.sink,
    runtime: stepRuntime(opts.plan.definition.runtime),
    emulator: emulatorFor(opts.plan.definition.image.architecture_kernel),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  switch (step.kind) {
    case 'action':
      return runStepInContainer({
        ...base,
        script: step.script,
        ...(step.timeoutSeconds ? { timeoutSeconds: step.timeoutSeconds } : {}),
      });
    case 'packages':
      return runStepInContainer({ ...base, argv: step.argv });
    case 'generator': {
      const gen = generators[step.generator];
      if (!gen)
        throw new KilnError(`unknown generator '${step.generator}'; available: ${Object.keys(generators).join(', ')}`);
      return gen.run({
        rootfs: opts.rootfs,
        entry: step.entry,
        step: step.name,
        plan: opts.plan,
        metadata,
        sink: opts.sink,
      });
    }
    case 'repositories': {
      const handler = repositoryHandlers[step.manager];
      if (!handler) {
        if (step.repositories.length > 0) {
          log(
            opts.sink,
            'warn',
            `package manager '${step.manager}' has no repositories: ${step.repositories.map((r) => r.name).join(', ')} ignored`,
            step.name,
          );
        }
        return;
      }
      for (const repo of step.repositories) {
        opts.signal?.throwIfAborted();
        log(opts.sink, 'info', `adding ${step.manager} repository ${repo.name}`, step.name);
        await handler.add({
          rootfs: opts.rootfs,
          repo,
          step: step.name,
          plan: opts.plan,
          sink: opts.sink,
          run: (what) => runStepInContainer({ ...base, ...what }),
        });
      }
      return;
    }
    case 'internal': {
      const action = internalActions[step.what];
      if (!action) throw new KilnError(`unknown internal step '${step.what}'`);
      return action.run({ rootfs: opts.rootfs, step: step.name, plan: opts.plan, sink: opts.sink, undo, metadata });
    }
  }
}
