import type { FileEntry } from '../../definition/types.js';
import type { ImageMetadata } from '../../pack/types.js';
import type { Plan } from '../../plan/types.js';
import type { EventSink } from '../../util/events.js';

export interface GeneratorContext {
  rootfs: string;
  /** The files[] entry, already rendered when it has `pongo: true`. */
  entry: FileEntry;
  /** The step's name in the plan, for messages. */
  step: string;
  plan: Plan;
  /** Generators add LXC template paths and Incus templates here. */
  metadata: ImageMetadata;
  sink: EventSink;
}

/** A file generator (`files[].generator`): one file each, registered by name. */
export interface Generator {
  name: string;
  run(ctx: GeneratorContext): Promise<void>;
}
