import os from 'node:os';
import path from 'node:path';
import type { Command, CommandContext } from '../command.js';
import { parseCommandArgs, positiveInt, usageError } from '../args.js';
import { testBundle, type TestBundleResult } from '../../catalog/test-bundle.js';

const USAGE = 'kiln test BUNDLE... [--timeout SECONDS] [--quarantine DIR] [--json]';

const command: Command = {
  name: 'test',
  summary: `Boot-test bundles (from kiln build --catalog --only CELL --bundle) on this worker before they are handed
on: each is verified as kiln publish would, installed with the real lxc-create -t download from a private staging
server, started, and must answer lxc-attach in time. One that does not boot is kept under --quarantine
(default ./quarantine) with its logs, as a catalog run does. Exit 1 when any bundle failed or was refused.`,
  usage: USAGE,
  async run(ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      ctx.argv,
      { timeout: { type: 'string', default: '120' }, quarantine: { type: 'string', default: 'quarantine' } },
      USAGE,
    );
    if (positionals.length === 0) throw usageError('give at least one bundle', USAGE);
    const timeoutSeconds = positiveInt(values.timeout, '--timeout');
    const results: TestBundleResult[] = [];
    for (const bundle of positionals) {
      results.push(
        await testBundle({
          bundle,
          workParent: os.tmpdir(),
          timeoutSeconds,
          quarantine: path.resolve(values.quarantine),
          sink: ctx.sink,
        }),
      );
    }
    const count = (s: string): number => results.filter((r) => r.status === s).length;
    const message = `${count('passed')} passed, ${count('quarantined')} quarantined, ${count('refused')} refused`;
    const failed = count('passed') !== results.length;
    if (ctx.json) ctx.sink.emit({ type: 'result', status: failed ? 'failed' : 'ok', message, bundles: results });
    else {
      for (const r of results) {
        const detail =
          r.status === 'passed'
            ? `${r.cell} ${r.serial} boots`
            : r.status === 'quarantined'
              ? `${r.reason}; kept in ${r.quarantine}`
              : r.reason;
        ctx.stdout.write(`${r.status}: ${r.bundle}: ${detail}\n`);
      }
      ctx.stdout.write(`${message}\n`);
    }
    return failed ? 1 : 0;
  },
};

export default command;
