import type { Repository } from '../../definition/types.js';
import type { Plan } from '../../plan/types.js';
import type { EventSink } from '../../util/events.js';

export interface RepositoryContext {
  rootfs: string;
  /** Already filtered, `url` and `key` rendered. */
  repo: Repository;
  step: string;
  plan: Plan;
  sink: EventSink;
  /** Runs a command or a shebang script inside the build container, as part of this step. */
  run(what: { argv: string[] } | { script: string }): Promise<void>;
}

/** How one package manager family adds a repository (definitions-spec section 4). */
export interface RepositoryHandler {
  managers: string[];
  add(ctx: RepositoryContext): Promise<void>;
}
