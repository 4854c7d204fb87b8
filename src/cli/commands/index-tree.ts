import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command.js';
import { parseCommandArgs, usageError } from '../args.js';
import { regenerateIndexes } from '../../publish/index.js';
import { readCatalog } from '../../serve/read-catalog.js';

const USAGE = 'kiln index [DIR]';

const command: Command = {
  name: 'index',
  summary: `Rebuild every index of an image tree (meta/1.0/index-*, streams/v1/*.json, the catalog) from the build.json
files it holds, after a crash or a manual change. Unfinished staging directories are removed.`,
  usage: USAGE,
  async run(ctx: CommandContext): Promise<number> {
    const { positionals } = parseCommandArgs(ctx.argv, {}, USAGE);
    if (positionals.length > 1) throw usageError('index takes one directory', USAGE);
    const tree = resolve(positionals[0] ?? '.');
    await regenerateIndexes(tree, ctx.sink);
    const catalog = await readCatalog(tree);
    const builds = catalog.products.reduce((n, p) => n + p.builds, 0);
    const message = `indexed ${tree}: ${catalog.products.length} products, ${builds} builds`;
    if (ctx.json) ctx.sink.emit({ type: 'result', status: 'ok', message, products: catalog.products.length, builds });
    else ctx.stdout.write(`${message}\n`);
    return 0;
  },
};

export default command;
