import type { Command } from '../command.js';

/**
 * The subcommands, by name. Each lives in its own file and is loaded only when
 * called, so `kiln validate` does not load the HTTP server.
 */
export const commands: Record<string, () => Promise<Command>> = {
  build: async () => (await import('./build.js')).default,
  validate: async () => (await import('./validate.js')).default,
  plan: async () => (await import('./plan.js')).default,
  run: async () => (await import('./run.js')).default,
  serve: async () => (await import('./serve.js')).default,
  index: async () => (await import('./index-tree.js')).default,
  prune: async () => (await import('./prune.js')).default,
  diff: async () => (await import('./diff.js')).default,
  publish: async () => (await import('./publish.js')).default,
  test: async () => (await import('./test.js')).default,
  mirror: async () => (await import('./mirror.js')).default,
};
