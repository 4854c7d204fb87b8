import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { parseCommandArgs, usageError } from '../args.js';
import { parseDuration, pruneTree } from '../../publish/index.js';

const USAGE = 'kiln prune [DIR] [--keep N] [--grace DURATION] [--dry-run]';

const command: Command = {
  name: 'prune',
  summary: `Keep the newest N builds per product (default 3). Older builds leave the indexes at once; their files are
deleted by a later prune run once the grace period (default 6h; clients cache indexes for an hour) is over.`,
  usage: USAGE,
  async run(ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      ctx.argv,
      {
        keep: { type: 'string', default: '3' },
        grace: { type: 'string', default: '6h' },
        'dry-run': { type: 'boolean' },
      },
      USAGE,
    );
    if (positionals.length > 1) throw usageError('prune takes one directory', USAGE);
    const keep = Number(values.keep);
    if (!/^\d+$/.test(values.keep) || keep < 1)
      throw new UsageError(`--keep '${values.keep}': expected a whole number of builds, at least 1`);
    const graceMs = parseDuration(values.grace, '--grace');
    const tree = resolve(positionals[0] ?? '.');
    const r = await pruneTree({ tree, keep, graceMs, sink: ctx.sink, dryRun: values['dry-run'] });
    const verb = values['dry-run'] ? 'would take' : 'took';
    const message = `${verb} ${r.pruned.length} builds out of the indexes, ${values['dry-run'] ? 'would delete' : 'deleted'} ${r.deleted.length}, ${r.waiting.length} waiting for their grace period`;
    if (ctx.json)
      ctx.sink.emit({
        type: 'result',
        status: 'ok',
        message,
        pruned: r.pruned,
        deleted: r.deleted,
        waiting: r.waiting,
      });
    else {
      for (const p of r.pruned) ctx.stdout.write(`out of the indexes: ${p}\n`);
      for (const p of r.deleted) ctx.stdout.write(`deleted: ${p}\n`);
      ctx.stdout.write(`${message}\n`);
    }
    return 0;
  },
};

export default command;
