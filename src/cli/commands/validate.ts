import type { Command } from '../command.js';
import { parseCommandArgs, usageError } from '../args.js';
import { loadDefinition } from '../../definition/index.js';
import { DefinitionError, formatDiagnostic } from '../../util/errors.js';

const USAGE = 'kiln validate DEFINITION [-o key=value]... [--vm] [--strict-templates] [--json]';

export interface DefinitionArgs {
  file: string;
  overrides: string[];
  strictTemplates: boolean;
  targetType: 'container' | 'vm';
  /** `--target` of `kiln plan`; undefined for `kiln validate`. */
  target: string | undefined;
}

const DEFINITION_OPTIONS = {
  option: { type: 'string', short: 'o', multiple: true },
  'strict-templates': { type: 'boolean', default: false },
  vm: { type: 'boolean', default: false },
} as const;
const PLAN_OPTIONS = { ...DEFINITION_OPTIONS, target: { type: 'string', default: 'all' } } as const;

/** The arguments `validate` and `plan` share: one definition (`-` is stdin) and its overrides; `plan` adds `--target`. */
export function parseDefinitionArgs(argv: string[], usage: string, withTarget = false): DefinitionArgs {
  if (withTarget) {
    const { values, positionals } = parseCommandArgs(argv, PLAN_OPTIONS, usage);
    return definitionArgs(values, positionals, usage, values.target);
  }
  const { values, positionals } = parseCommandArgs(argv, DEFINITION_OPTIONS, usage);
  return definitionArgs(values, positionals, usage, undefined);
}

function definitionArgs(
  values: { option?: string[] | undefined; 'strict-templates': boolean; vm: boolean },
  positionals: string[],
  usage: string,
  target: string | undefined,
): DefinitionArgs {
  const [file] = positionals;
  if (file === undefined || positionals.length !== 1)
    throw usageError('give exactly one definition file (or - for stdin)', usage);
  return {
    file,
    overrides: values.option ?? [],
    strictTemplates: values['strict-templates'],
    targetType: values.vm ? 'vm' : 'container',
    target,
  };
}

/**
 * Checks a definition the way a build would, without root, network or
 * writing anything: exit 0 when valid, 1 with every problem when not.
 */
const command: Command = {
  name: 'validate',
  summary: 'Check a definition (and its -o overrides); print every problem as FILE:LINE:COL: path: message.',
  usage: USAGE,
  async run(ctx) {
    const args = parseDefinitionArgs(ctx.argv, USAGE);
    try {
      const loaded = await loadDefinition(args.file, {
        overrides: args.overrides,
        strictTemplates: args.strictTemplates,
        targetType: args.targetType,
      });
      const img = loaded.definition.image;
      if (ctx.json) {
        ctx.stdout.write(
          `${JSON.stringify({ valid: true, file: loaded.file, digest: loaded.digest, image: img, diagnostics: [] })}\n`,
        );
      } else {
        ctx.stdout.write(
          `${loaded.file}: valid (${img.distribution} ${img.release || '-'} ${img.architecture_mapped} ${img.variant})\n`,
        );
      }
      return 0;
    } catch (e) {
      if (!(e instanceof DefinitionError)) throw e;
      if (ctx.json) {
        ctx.stdout.write(`${JSON.stringify({ valid: false, file: args.file, diagnostics: e.diagnostics })}\n`);
      } else {
        for (const d of e.diagnostics) ctx.stderr.write(`${formatDiagnostic(d)}\n`);
        ctx.stderr.write(`${args.file}: ${e.diagnostics.length} problem${e.diagnostics.length === 1 ? '' : 's'}\n`);
      }
      return 1;
    }
  },
};

export default command;
