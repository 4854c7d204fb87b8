import { managerFor } from '../customize/managers/index.js';
import { matchesFilters, PHASE_MASKS } from '../definition/filters.js';
import { generatorFacts } from '../definition/registry-names.js';
import type { ActionEntry, LoadedDefinition, ResolvedDefinition, Trigger } from '../definition/types.js';
import { KilnError } from '../util/errors.js';
import { planEnvironment } from './environment.js';
import { aptListsStep, aptLockSteps, policyRcdSteps, systemdGeneratorStep } from './internal-steps.js';
import type { BuildLock } from './lock.js';
import { checkLockFits, pinnerFor } from './lock-pins.js';
import { productArch } from '../definition/index.js';
import { lxcConfigFiles } from './lxc-config.js';
import { earlyPackages, packageFlow } from './packages.js';
import { errorAt, fieldRenderer, type FieldRenderer } from './render.js';
import type {
  ActionStep,
  CustomizeStep,
  GeneratorStep,
  LxcTargetPlan,
  Plan,
  RepositoriesStep,
  SourceStep,
  TargetKind,
} from './types.js';

export { compatLevels, MAX_COMPAT_LEVEL } from './lxc-config.js';
export { DEFAULT_ENVIRONMENT } from './environment.js';

export interface PlanOptions {
  targets: TargetKind[];
  /** `--lock`: every package at the version the lock names. */
  lock?: { file: string; lock: BuildLock };
}

/** Generators that only make sense in a virtual machine (distrobuilder refuses them for LXC). */

/**
 * The resolved build, in the order it runs (definitions-spec sections 1, 4
 * and 5): source (rendered URL and keys, early sets); [policy-rc.d on];
 * [package manager setup]; repositories; post-unpack actions; refresh,
 * update, post-update actions, merged sets, clean (or nothing when no set
 * matches and update is off); post-packages actions; generators; the LXC
 * systemd generator; post-files actions; [policy-rc.d off]; the LXC
 * metadata files. Everything is filtered and rendered: the build executes
 * exactly this object.
 */
export function makePlan(loaded: LoadedDefinition, opts: PlanOptions): Plan {
  const def = loaded.definition;
  const targets = [...new Set(opts.targets)];
  if (targets.length === 0) throw new KilnError('a plan needs at least one target (lxc or incus)');
  if (def.targets?.type === 'vm' && targets.includes('lxc')) {
    throw new KilnError('LXC images are containers: a virtual-machine build can only target incus');
  }
  const render = fieldRenderer(loaded);
  const steps: CustomizeStep[] = [];
  const mgr = managerFor(def.packages);
  const policy = policyRcdSteps(def);
  const lock = opts.lock ? checkLockFits(opts.lock.lock, opts.lock.file, def, mgr) : undefined;
  const aptLock = lock && mgr?.name === 'apt' && lock.packages.length ? aptLockSteps() : undefined;

  if (policy) steps.push(policy.install);
  if (aptLock) steps.push(aptLock.pin);
  const setup = mgr?.setup?.({ architectureKernel: def.image.architecture_kernel });
  if (mgr && setup) steps.push({ kind: 'packages', name: 'packages.setup', phase: 'refresh', argv: setup });

  // Every manager gets the step; the customization stage decides what a
  // manager does with repositories (and says so when it ignores them).
  const repos = repositoriesStep(def, render, mgr?.name);
  if (repos) steps.push(repos);
  steps.push(...actionSteps(def, 'post-unpack', render));

  const flow = packageFlow(def, mgr, aptLock && lock ? pinnerFor(lock, productArch(def)) : undefined);
  if (flow.refresh) steps.push(flow.refresh);
  if (flow.update) steps.push(flow.update);
  // post-update actions follow the upgrade, even for managers whose upgrade is a no-op.
  if (def.packages?.update && mgr) steps.push(...actionSteps(def, 'post-update', render));
  steps.push(...flow.sets);
  if (flow.clean) steps.push(flow.clean);
  const lists = flow.refresh ? aptListsStep(def) : undefined;
  if (lists) steps.push(lists);
  steps.push(...actionSteps(def, 'post-packages', render));

  steps.push(...generatorSteps(loaded, render, targets));
  steps.push(systemdGeneratorStep());
  steps.push(...actionSteps(def, 'post-files', render));
  // Services stay off through post-files too: those actions install packages
  // as well (a boot loader for VMs), as distrobuilder's chroot allows.
  if (aptLock) steps.push(aptLock.unpin);
  if (policy) steps.push(policy.remove);

  const plan: Plan = {
    definitionFile: loaded.file,
    definitionDigest: loaded.digest,
    definition: def,
    targets,
    environment: planEnvironment(def),
    source: sourceStep(def, render),
    steps,
  };
  if (lock) plan.lock = lock;
  if (targets.includes('lxc')) plan.lxc = lxcTarget(def, render);
  return plan;
}

function sourceStep(def: ResolvedDefinition, render: FieldRenderer): SourceStep {
  const src = { ...def.source };
  if (src.url !== undefined) src.url = render(src.url, 'source.url');
  if (src.keys) src.keys = src.keys.map((k, i) => render(k, `source.keys[${i}]`));
  if (src.components) src.components = src.components.map((c, i) => render(c, `source.components[${i}]`));
  return { kind: 'source', name: 'source', downloader: src.downloader, source: src, early: earlyPackages(def) };
}

function repositoriesStep(
  def: ResolvedDefinition,
  render: FieldRenderer,
  manager: string | undefined,
): RepositoriesStep | undefined {
  const repos = (def.packages?.repositories ?? []).flatMap((r, i) => {
    if (!matchesFilters(r, def, PHASE_MASKS.repositories)) return [];
    const out = { ...r, url: render(r.url, `packages.repositories[${i}].url`) };
    if (r.key !== undefined) out.key = render(r.key, `packages.repositories[${i}].key`);
    return [out];
  });
  if (repos.length === 0 || manager === undefined) return undefined;
  return { kind: 'repositories', name: 'repositories', manager, repositories: repos };
}

const PHASE_OF: Record<Trigger, keyof typeof PHASE_MASKS> = {
  'post-unpack': 'postUnpack',
  'post-update': 'postUpdate',
  'post-packages': 'postPackages',
  'post-files': 'postFiles',
};

/** Actions of one trigger, named `<trigger>[k]` by their rank among that trigger's actions in the file. */
function actionSteps(def: ResolvedDefinition, trigger: Trigger, render: FieldRenderer): ActionStep[] {
  const out: ActionStep[] = [];
  let rank = 0;
  (def.actions ?? []).forEach((a: ActionEntry, i) => {
    if (a.trigger !== trigger) return;
    const name = `${trigger}[${rank++}]`;
    if (!matchesFilters(a, def, PHASE_MASKS[PHASE_OF[trigger]])) return;
    const script = a.pongo ? render(a.action, `actions[${i}].action`) : a.action;
    const step: ActionStep = { kind: 'action', name, trigger, script, entry: a, origin: `actions[${i}]` };
    if (a.timeout !== undefined) step.timeoutSeconds = a.timeout;
    out.push(step);
  });
  return out;
}

function generatorSteps(loaded: LoadedDefinition, render: FieldRenderer, targets: TargetKind[]): GeneratorStep[] {
  const def = loaded.definition;
  const out: GeneratorStep[] = [];
  (def.files ?? []).forEach((f, i) => {
    if (!matchesFilters(f, def, PHASE_MASKS.files)) return;
    if (targets.includes('lxc') && generatorFacts(f.generator).vmOnly) {
      throw errorAt(
        loaded,
        `files[${i}]`,
        `the ${f.generator} generator is for virtual machines and LXC images do not support it; limit the entry with types: [vm]`,
      );
    }
    const entry = { ...f };
    if (f.pongo) {
      if (f.path !== undefined) entry.path = render(f.path, `files[${i}].path`);
      if (f.content !== undefined) entry.content = render(f.content, `files[${i}].content`);
      if (f.source !== undefined) entry.source = render(f.source, `files[${i}].source`);
    }
    out.push({
      kind: 'generator',
      name: `files[${i}].${f.generator}`,
      generator: f.generator,
      entry,
      origin: `files[${i}]`,
    });
  });
  return out;
}

function lxcTarget(def: ResolvedDefinition, render: FieldRenderer): LxcTargetPlan {
  return {
    createMessage: render(def.targets?.lxc?.create_message ?? '', 'targets.lxc.create_message'),
    configFiles: lxcConfigFiles(def, render),
  };
}
