import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { parseCommandArgs, usageError } from '../args.js';
import { parseDuration } from '../../publish/index.js';
import { publishBundles } from '../../publish/bundle.js';

const USAGE = 'kiln publish DIR BUNDLE... [--keep N] [--grace DURATION] [--json]';

const command: Command = {
  name: 'publish',
  summary: `Publish bundles (from kiln build --catalog --only CELL --bundle) into a tree: each is verified, the good
ones are published under the tree lock, the indexes are written once and retention applied. A bad bundle is
refused alone; a bundle already published is a no-op; one older than what is published is refused as stale.`,
  usage: USAGE,
  async run(ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      ctx.argv,
      { keep: { type: 'string' }, grace: { type: 'string' } },
      USAGE,
    );
    const [tree, ...bundles] = positionals;
    if (tree === undefined || bundles.length === 0) throw usageError('give the tree and at least one bundle', USAGE);
    let keep: number | undefined;
    if (values.keep !== undefined) {
      keep = Number(values.keep);
      if (!/^\d+$/.test(values.keep) || keep < 1)
        throw new UsageError(`--keep '${values.keep}': expected a whole number of builds, at least 1`);
    }
    const graceMs = values.grace !== undefined ? parseDuration(values.grace, '--grace') : undefined;
    const outcomes = await publishBundles({ tree: resolve(tree), bundles, keep, graceMs, sink: ctx.sink });
    const count = (s: string): number => outcomes.filter((o) => o.status === s).length;
    const message = `${count('published')} published, ${count('unchanged')} already published, ${count('refused')} refused`;
    const failed = count('refused') > 0;
    if (ctx.json) ctx.sink.emit({ type: 'result', status: failed ? 'failed' : 'ok', message, bundles: outcomes });
    else {
      for (const o of outcomes) {
        const detail = o.status === 'published' ? o.dir : o.reason;
        ctx.stdout.write(`${o.status}: ${o.bundle}: ${detail}\n`);
      }
      ctx.stdout.write(`${message}\n`);
    }
    return failed ? 1 : 0;
  },
};

export default command;
