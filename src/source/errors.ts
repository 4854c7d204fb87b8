import { KilnError } from '../util/errors.js';

/** A source could not be fetched or prepared (bad URL, host tool missing, server error). */
export class SourceError extends KilnError {}

/** The fetched bytes could not be proven to be what the definition asked for. */
export class VerificationError extends KilnError {}

/** An archive entry would write outside the root, or the archive exceeds the caps. */
export class UnsafeArchiveError extends KilnError {}
