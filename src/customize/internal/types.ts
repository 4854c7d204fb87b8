import type { Plan } from '../../plan/types.js';
import type { EventSink } from '../../util/events.js';
import type { ImageMetadata } from '../../pack/types.js';

/**
 * Work kiln must undo before the image is packed (policy-rc.d), keyed by
 * name. A later internal step undoes it in order; if the build fails first,
 * customize() runs whatever is left.
 */
export type UndoList = Map<string, () => Promise<void>>;

export interface InternalContext {
  rootfs: string;
  step: string;
  plan: Plan;
  sink: EventSink;
  undo: UndoList;
  /** What the customization leaves for packing. */
  metadata: ImageMetadata;
}

/** A step kiln adds to every plan by itself (`InternalStep.what`). */
export interface InternalAction {
  what: string;
  run(ctx: InternalContext): Promise<void>;
}
