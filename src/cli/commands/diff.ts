import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command.js';
import { parseCommandArgs, usageError } from '../args.js';
import { diffBuilds, formatDiff } from '../../publish/build-diff.js';

const USAGE = 'kiln diff BUILD_DIR_A BUILD_DIR_B [--json]';

const command: Command = {
  name: 'diff',
  summary: `What changed between two published builds (images/<dist>/<release>/<arch>/<variant>/<serial>/):
packages added, removed and upgraded (from their SBOMs) and upstream inputs changed (from build.json).`,
  usage: USAGE,
  async run(ctx: CommandContext): Promise<number> {
    const { positionals } = parseCommandArgs(ctx.argv, {}, USAGE);
    const [a, b] = positionals;
    if (a === undefined || b === undefined || positionals.length !== 2)
      throw usageError('give two build directories', USAGE);
    const diff = await diffBuilds(resolve(a), resolve(b));
    if (ctx.json) ctx.sink.emit({ type: 'result', status: 'ok', message: `${diff.from} -> ${diff.to}`, ...diff });
    else ctx.stdout.write(formatDiff(diff));
    return 0;
  },
};

export default command;
