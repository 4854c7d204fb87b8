import { commands } from './commands/index.js';
import { isKilnError, UsageError } from '../util/errors.js';
import { makeSink } from './output.js';
import { KILN_VERSION } from '../util/version.js';

const HELP = `kiln ${KILN_VERSION}: build Linux container images from distribution definitions and serve them

Usage: kiln COMMAND [ARGS...] [--json]

Commands:
  build DEFINITION     build an image and publish it into a tree (--out DIR)
  validate DEFINITION  check a definition, print every problem with its position
  plan DEFINITION      print the resolved steps of a build
  run ROOTFS -- CMD    run a command in a container the way build steps run
  serve [DIR]          serve an image tree over HTTPS to LXC, LXD and Incus clients
  index [DIR]          rebuild the indexes of a tree
  prune [DIR]          remove old builds from a tree

Run 'kiln COMMAND --help' for the options of a command.
`;

async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${KILN_VERSION}\n`);
    return 0;
  }
  const load = commands[name];
  if (!load) throw new UsageError(`unknown command '${name}'; commands: ${Object.keys(commands).join(', ')}`);
  const command = await load();
  const rest = argv.slice(1);
  // Options after `--` belong to the command kiln runs (`kiln run R -- cmd -h`).
  const dashdash = rest.indexOf('--');
  const own = dashdash === -1 ? rest : rest.slice(0, dashdash);
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(`Usage: ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  const json = own.includes('--json');
  const sink = makeSink({ json, stream: process.stderr });
  return command.run({ argv: rest, sink, json, stdout: process.stdout, stderr: process.stderr });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isKilnError(err)) {
      process.stderr.write(`kiln: ${err.message}\n`);
      for (const line of err.details) process.stderr.write(`  ${line}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(
        `kiln: internal error (a bug in kiln, please report it):\n${err instanceof Error ? err.stack : String(err)}\n`,
      );
      process.exitCode = 70;
    }
  },
);
