import { createHash } from 'node:crypto';
import type { Plan } from '../plan/types.js';
import type { SourceIdentity, SourceRecord } from '../source/types.js';
import { KILN_VERSION } from '../util/version.js';

/** Stands for the serial when the plan is digested: a new serial alone is no change. */
const SERIAL_PLACEHOLDER = '@SERIAL@';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function sha256Json(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

/** `value` with every occurrence of `text` in its strings and keys replaced. */
function masked(value: unknown, text: string, by: string): unknown {
  if (typeof value === 'string') return value.split(text).join(by);
  if (Array.isArray(value)) return value.map((v) => masked(v, text, by));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k.split(text).join(by), masked(v, text, by)]),
    );
  }
  return value;
}

/**
 * The digest of what a build would do: its resolved plan, the one the build
 * runs, with the serial masked wherever templates put it and without the
 * definition's file name or comments. Two builds with the same plan digest
 * run the same steps. A template that reshapes the serial (a filter) leaves
 * it unmasked: then every serial digests differently and the build is redone,
 * never wrongly skipped.
 */
export function planDigest(plan: Plan): string {
  const { definitionFile: _file, definitionDigest: _digest, ...rest } = plan;
  const serial = plan.definition.image.serial;
  return sha256Json(serial ? masked(rest, serial, SERIAL_PLACEHOLDER) : rest);
}

/** The source identity of a finished source stage: what it downloaded, by digest. */
export function identityFromRecord(record: SourceRecord): SourceIdentity {
  return { parts: Object.fromEntries(record.inputs.map((i) => [i.url, i.sha256])) };
}

export interface InputDigestParts {
  planDigest: string;
  source: SourceIdentity;
  /** Output choices that change the artifacts. */
  outputs: unknown;
  /** Digest of the `--lock` the build pins to, when it has one. */
  lock?: string | undefined;
}

/** What the input digest is made of, kept in build.json so a later run can say what changed. */
export interface InputParts {
  kiln: string;
  plan: string;
  /** What upstream served: URL (or name) -> digest. */
  source: Record<string, string>;
  outputs: unknown;
  /** The pinned package versions (`--lock`), by digest. */
  lock?: string;
}

export function inputParts(parts: InputDigestParts): InputParts {
  return {
    kiln: KILN_VERSION,
    plan: parts.planDigest,
    source: parts.source.parts,
    outputs: parts.outputs,
    ...(parts.lock ? { lock: parts.lock } : {}),
  };
}

/**
 * The input digest recorded in build.json: the plan, what upstream served
 * and kiln's own version. The newest published build with the same digest
 * makes a new build unnecessary.
 */
export function inputDigest(parts: InputDigestParts | InputParts): string {
  return sha256Json('planDigest' in parts ? inputParts(parts) : parts);
}

/**
 * Why a build with inputs `now` is not the published one: each changed
 * input named, upstream files by URL (e.g. `.../bookworm-security/InRelease
 * changed`), so a nightly run explains every rebuild.
 */
export function changedInputs(before: InputParts | undefined, now: InputParts): string[] {
  if (!before) return ['the published build does not record its inputs'];
  const out: string[] = [];
  if (before.kiln !== now.kiln) out.push(`kiln ${before.kiln} -> ${now.kiln}`);
  if (before.plan !== now.plan) out.push('the definition, its options or the plan changed');
  if (before.lock !== now.lock) out.push(now.lock ? 'the lock changed' : 'the build no longer has a lock');
  if (sha256Json(before.outputs) !== sha256Json(now.outputs))
    out.push('the output options or the published names changed');
  for (const url of [...new Set([...Object.keys(before.source), ...Object.keys(now.source)])].sort()) {
    if (!(url in now.source)) out.push(`${url} no longer used`);
    else if (!(url in before.source)) out.push(`${url} new`);
    else if (before.source[url] !== now.source[url]) out.push(`${url} changed`);
  }
  return out;
}
