/**
 * The hostname build steps see. It is distrobuilder's, so definitions and
 * the `hosts` generator that expect it keep working.
 */
export const BUILD_HOSTNAME = 'distrobuilder';
