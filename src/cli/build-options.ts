import type { parseCommandArgs } from './args.js';

/** The options of `kiln build`, with and without --catalog: one table, so both read typed values. */
export const BUILD_OPTIONS = {
  option: { type: 'string', short: 'o', multiple: true },
  out: { type: 'string', default: 'out' },
  'cache-dir': { type: 'string' },
  'work-dir': { type: 'string' },
  formats: { type: 'string', default: 'lxc,incus' },
  compression: { type: 'string', default: 'xz' },
  'squashfs-compression': { type: 'string', default: 'xz' },
  sign: { type: 'string' },
  'strict-templates': { type: 'boolean', default: false },
  'keep-work': { type: 'boolean', default: false },
  serial: { type: 'string' },
  catalog: { type: 'string' },
  only: { type: 'string' },
  jobs: { type: 'string' },
  force: { type: 'boolean', default: false },
  test: { type: 'boolean', default: false },
  'test-timeout': { type: 'string', default: '120' },
  quarantine: { type: 'string' },
  'release-alias': { type: 'string', multiple: true },
  requirement: { type: 'string', multiple: true },
  lock: { type: 'string' },
  bundle: { type: 'string' },
  against: { type: 'string' },
  ca: { type: 'string' },
} as const;

export type BuildValues = ReturnType<typeof parseCommandArgs<typeof BUILD_OPTIONS>>['values'];
