import { KilnError } from '../util/errors.js';

/** Something about the upstream or the mirror a user can act on; one line naming the item. */
export class MirrorError extends KilnError {}
