import type { Command, CommandContext } from '../command.js';
import { parseCommandArgs, usageError } from '../args.js';
import { UsageError } from '../../util/errors.js';
import { emulatorFor, rootArchitecture, runInContainer } from '../../runtime/index.js';
import { parseSize } from '../../runtime/parse-size.js';
import type { BindMount, RunSpec } from '../../runtime/types.js';

const USAGE =
  'kiln run ROOTFS [--memory SIZE] [--pids N] [--cpus N] [--tmpfs SIZE] [--allow-userns] [--timeout SECONDS] [--network host|none] ' +
  '[--hostname NAME] [--bind SRC:DST[:rw]]... [--overlay DIR] [--userns INSIDE:OUTSIDE:COUNT] ' +
  '[--env NAME=VALUE]... [--cwd DIR] [--cap-add NAME]... -- CMD [ARG...]';

const OPTIONS = {
  memory: { type: 'string' },
  pids: { type: 'string' },
  cpus: { type: 'string' },
  tmpfs: { type: 'string' },
  'allow-userns': { type: 'boolean' },
  timeout: { type: 'string' },
  network: { type: 'string' },
  hostname: { type: 'string' },
  bind: { type: 'string', multiple: true },
  overlay: { type: 'string' },
  userns: { type: 'string' },
  env: { type: 'string', multiple: true },
  cwd: { type: 'string' },
  'cap-add': { type: 'string', multiple: true },
} as const;

function positiveNumber(text: string, what: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${what} '${text}': expected a positive ${integer ? 'integer' : 'number'}`);
  }
  return n;
}

function parseBind(text: string): BindMount {
  const parts = text.split(':');
  const mode = parts.length === 3 ? parts[2] : undefined;
  if (
    parts.length < 2 ||
    parts.length > 3 ||
    !parts[0] ||
    !parts[1] ||
    (mode !== undefined && mode !== 'rw' && mode !== 'ro')
  ) {
    throw new UsageError(`--bind '${text}': expected SRC:DST, SRC:DST:ro or SRC:DST:rw`);
  }
  return { source: parts[0], target: parts[1], readWrite: mode === 'rw' };
}

function parseUserns(text: string): NonNullable<RunSpec['userns']> {
  const m = /^(\d+):(\d+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--userns '${text}': expected INSIDE:OUTSIDE:COUNT, e.g. 0:100000:65536`);
  const line = `${m[1]} ${m[2]} ${m[3]}`;
  return { uidMap: [line], gidMap: [line] };
}

/** Options and command of `kiln run`: everything after `--` is the command, untouched. */
export function parseRunArgs(argv: string[]): RunSpec {
  const dashes = argv.indexOf('--');
  if (dashes < 0) throw usageError("kiln run: put the command after '--'", USAGE);
  const command = argv.slice(dashes + 1);
  const { values, positionals } = parseCommandArgs(argv.slice(0, dashes), OPTIONS, USAGE);
  const [rootfs] = positionals;
  if (rootfs === undefined || positionals.length !== 1)
    throw usageError("kiln run: expected exactly one ROOTFS before '--'", USAGE);
  if (command.length === 0) throw usageError("kiln run: no command after '--'", USAGE);

  const env: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const e of values.env ?? []) {
    const eq = e.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env '${e}': expected NAME=VALUE`);
    env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const network = values.network ?? 'none';
  if (network !== 'host' && network !== 'none')
    throw new UsageError(`--network '${network}': allowed values are host and none`);

  const limits: NonNullable<RunSpec['limits']> = {};
  if (values.memory !== undefined) limits.memoryBytes = parseSize(values.memory, '--memory');
  if (values.pids !== undefined) limits.pids = positiveNumber(values.pids, '--pids', true);
  if (values.cpus !== undefined) limits.cpus = positiveNumber(values.cpus, '--cpus', false);
  if (values.tmpfs !== undefined) limits.tmpfsBytes = parseSize(values.tmpfs, '--tmpfs');

  const spec: RunSpec = {
    rootfs,
    argv: command,
    env,
    network,
    limits,
    binds: (values.bind ?? []).map(parseBind),
    stdin: 'inherit',
    forwardSignals: true,
  };
  if (values.timeout !== undefined) spec.timeoutMs = positiveNumber(values.timeout, '--timeout', false) * 1000;
  if (values.hostname !== undefined) spec.hostname = values.hostname;
  if (values.overlay !== undefined) spec.overlay = { upperDir: values.overlay };
  if (values.userns !== undefined) spec.userns = parseUserns(values.userns);
  if (values.cwd !== undefined) spec.cwd = values.cwd;
  if (values['allow-userns']) spec.allowUserNamespaces = true;
  if (values['cap-add']) spec.capabilities = values['cap-add'].map((c) => c.toLowerCase().replace(/^cap_/, ''));
  return spec;
}

const run: Command = {
  name: 'run',
  summary:
    'Run a command in a container over ROOTFS exactly as build steps run (fresh namespaces, pivot_root, ' +
    'default limits (memory: half the RAM up to 4G, 4096 pids, 1G each for /tmp and /run; raise them with ' +
    '--memory, --pids, --tmpfs), no user namespaces unless --allow-userns, ' +
    "no network unless --network host); the exit code is the command's (124 timeout, 137 out of memory).",
  usage: USAGE,
  async run(ctx: CommandContext): Promise<number> {
    const spec = parseRunArgs(ctx.argv);
    // A root of another architecture (an arm64 image on this amd64 host) runs through qemu-user.
    const arch = await rootArchitecture(spec.rootfs);
    if (arch) spec.emulator = emulatorFor(arch);
    spec.onOutput = (stream, chunk) => {
      (stream === 'stdout' ? ctx.stdout : ctx.stderr).write(chunk);
    };
    const result = await runInContainer(spec);
    for (const w of result.warnings ?? []) ctx.sink.emit({ type: 'log', level: 'warn', message: w });
    const end = result.end;
    if (end.kind === 'timeout')
      ctx.sink.emit({
        type: 'log',
        level: 'error',
        message: `timed out after ${(spec.timeoutMs ?? 0) / 1000}s: the whole process tree was killed`,
      });
    if (end.kind === 'oom')
      ctx.sink.emit({ type: 'log', level: 'error', message: 'out of memory: killed by the --memory limit' });
    if (ctx.json) {
      ctx.sink.emit({
        type: 'result',
        status: result.exitCode === 0 ? 'ok' : 'failed',
        end,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
      });
    }
    return result.exitCode;
  },
};

export default run;
