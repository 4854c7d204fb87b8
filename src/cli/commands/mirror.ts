import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { humanSize, parseSize } from '../../util/size.js';
import { parseCommandArgs, usageError } from '../args.js';
import { parseDuration } from '../../publish/index.js';
import { mirror } from '../../mirror/index.js';

const USAGE =
  'kiln mirror UPSTREAM_URL --out DIR [--only dist:release:arch:variant]... [--type container|virtual-machine] [--keep N] [--grace DURATION] [--jobs N] [--keyring FILE] [--sign KEYID] [--limit-rate SIZE] [--dry-run]';

function wholeNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`${what} '${text}': expected a whole number, at least 1`);
  return Number(text);
}

const command: Command = {
  name: 'mirror',
  summary: `Copy an upstream image server (its LXC index and simplestreams) into DIR, which kiln serve then serves.
Every file is checked against the upstream's sha256 and size (and its .asc with --keyring); a version appears
in DIR's indexes only once all its files are in place. Files the tree already has are never fetched again.`,
  usage: USAGE,
  async run(ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      ctx.argv,
      {
        out: { type: 'string' },
        only: { type: 'string', multiple: true },
        type: { type: 'string' },
        keep: { type: 'string' },
        grace: { type: 'string', default: '6h' },
        jobs: { type: 'string', default: '4' },
        keyring: { type: 'string' },
        sign: { type: 'string' },
        'limit-rate': { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
      USAGE,
    );
    if (positionals.length !== 1) throw usageError('mirror takes one upstream URL', USAGE);
    if (!values.out) throw usageError('--out DIR is required', USAGE);
    if (values.type !== undefined && values.type !== 'container' && values.type !== 'virtual-machine')
      throw new UsageError(`--type '${values.type}': expected container or virtual-machine`);
    const r = await mirror({
      upstream: positionals[0]!,
      tree: resolve(values.out),
      only: (values.only ?? []).flatMap((o) => o.split(',')).filter(Boolean),
      type: values.type,
      keep: values.keep === undefined ? undefined : wholeNumber(values.keep, '--keep'),
      graceMs: parseDuration(values.grace, '--grace'),
      jobs: wholeNumber(values.jobs, '--jobs'),
      keyring: values.keyring && resolve(values.keyring),
      sign: values.sign,
      limitRate: values['limit-rate'] === undefined ? undefined : parseSize(values['limit-rate'], '--limit-rate'),
      dryRun: values['dry-run'],
      sink: ctx.sink,
    });
    const verb = values['dry-run'] ? 'would mirror' : 'mirrored';
    const message = `${verb} ${r.published.length} new versions of ${r.selected} selected (${r.present} already present, ${r.reused} files reused); fetched ${r.bytesFetched} bytes (${humanSize(r.bytesFetched)}, indexes ${r.indexBytes})${r.pruned.length ? `; ${r.pruned.length} old versions out of the indexes` : ''}`;
    if (ctx.json) ctx.sink.emit({ type: 'result', status: 'ok', message, ...r });
    else {
      for (const p of r.published) ctx.stdout.write(`${values['dry-run'] ? 'would mirror' : 'mirrored'}: ${p}\n`);
      ctx.stdout.write(`${message}\n`);
    }
    return 0;
  },
};

export default command;
