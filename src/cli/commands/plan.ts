import type { Command } from '../command.js';
import { parseDefinitionArgs } from './validate.js';
import { loadDefinition } from '../../definition/index.js';
import { makePlan } from '../../plan/index.js';
import type { Plan, TargetKind } from '../../plan/types.js';
import { targetsFor as pipelineTargets } from '../../pipeline/index.js';
import { DefinitionError, formatDiagnostic } from '../../util/errors.js';
import { usageError } from '../args.js';

const USAGE =
  'kiln plan DEFINITION [-o key=value]... [--target lxc|incus|all] [--strict-templates] [--json]\n' +
  '       kiln plan --catalog FILE --matrix [--only PATTERN] [--out DIR | --against URL|DIR [--ca FILE]] [--force] ' +
  '[--compression M[:LEVEL]] [--squashfs-compression M] [--strict-templates] [--sign KEY] [--json]';

/** The targets `--target` names, as `kiln build --formats` would make them. */
function targetsFor(value: string): TargetKind[] {
  switch (value) {
    case 'lxc':
      return pipelineTargets(['lxc']);
    case 'incus':
      return pipelineTargets(['incus']);
    case 'all':
      return pipelineTargets(['lxc', 'incus']);
    default:
      throw usageError(`--target: unknown target '${value}'; allowed: lxc, incus, all`, USAGE);
  }
}

/** The first line that says something: not the shebang, a comment or `set -e`. */
const firstLine = (s: string): string => {
  const line = s.split('\n').find((l) => l.trim() !== '' && !/^\s*(#|set -)/.test(l)) ?? '';
  return line.length > 70 ? `${line.slice(0, 67)}...` : line;
};

/** The plan as a person reads it: one line per step, in build order. */
export function formatPlan(plan: Plan): string {
  const img = plan.definition.image;
  const src = plan.source.source;
  const out: string[] = [];
  out.push(`${img.name}: ${img.description}`);
  out.push(`targets: ${plan.targets.join(', ')} (${plan.definition.targets?.type ?? 'container'})`);
  const keys = src.keys?.length ? ` (${src.keys.length} key${src.keys.length === 1 ? '' : 's'})` : '';
  out.push(`source: ${plan.source.downloader}${src.url ? ` ${firstLine(src.url)}` : ''}${keys}`);
  if (plan.source.early.install.length) out.push(`  early install: ${plan.source.early.install.join(' ')}`);
  if (plan.source.early.remove.length) out.push(`  early remove: ${plan.source.early.remove.join(' ')}`);
  out.push(
    `environment: ${Object.entries(plan.environment)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  out.push('steps:');
  plan.steps.forEach((s, i) => {
    let what = '';
    switch (s.kind) {
      case 'packages':
        what = s.argv.join(' ');
        break;
      case 'action':
        what = `${s.origin ?? ''} ${firstLine(s.script)}`.trim();
        break;
      case 'generator':
        what = `${s.entry.path ?? s.entry.name ?? ''}`;
        break;
      case 'repositories':
        what = `${s.manager}: ${s.repositories.map((r) => r.name).join(', ')}`;
        break;
      case 'internal':
        what = '(kiln)';
        break;
    }
    out.push(`  ${String(i + 1).padStart(2)}. ${s.name}${what ? `  ${what}` : ''}`);
  });
  if (plan.lxc) {
    out.push(
      `lxc: create-message (${plan.lxc.createMessage.split('\n').length} lines), ${Object.keys(plan.lxc.configFiles).join(', ')}`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** Prints the resolved build: exactly the steps `kiln build` would run, filtered and rendered. */
const command: Command = {
  name: 'plan',
  summary: 'Print the resolved steps of a build in the order they run (--json: the plan object the build executes).',
  usage: USAGE,
  async run(ctx) {
    if (ctx.argv.includes('--catalog')) {
      const { planCatalogMatrix } = await import('../catalog-matrix-command.js');
      return planCatalogMatrix(ctx, USAGE);
    }
    const args = parseDefinitionArgs(ctx.argv, USAGE, true);
    // A plan is what `kiln build` runs, and kiln builds no VM image yet: a VM
    // plan would promise a build that cannot happen.
    if (args.targetType === 'vm')
      throw usageError(
        '--vm: kiln builds container images only for now, so there is no VM plan to show; `kiln validate --vm` checks the VM parts of a definition',
        USAGE,
      );
    const targets = targetsFor(args.target ?? 'all');
    try {
      const loaded = await loadDefinition(args.file, {
        overrides: args.overrides,
        strictTemplates: args.strictTemplates,
        targetType: args.targetType,
      });
      const plan = makePlan(loaded, { targets });
      ctx.stdout.write(ctx.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
      return 0;
    } catch (e) {
      if (!(e instanceof DefinitionError)) throw e;
      if (ctx.json)
        ctx.stdout.write(`${JSON.stringify({ valid: false, file: args.file, diagnostics: e.diagnostics })}\n`);
      else for (const d of e.diagnostics) ctx.stderr.write(`${formatDiagnostic(d)}\n`);
      return 1;
    }
  },
};

export default command;
