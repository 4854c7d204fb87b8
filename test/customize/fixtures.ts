import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDefinitionText } from '../../src/definition/index.js';
import { makePlan } from '../../src/plan/index.js';
import type { Plan, TargetKind } from '../../src/plan/types.js';
import { MemorySink, type KilnEvent } from '../../src/util/events.js';

/** A root made of the host's static busybox, one symlink per applet. */
export function busyboxRoot(root: string): string {
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    mkdirSync(path.join(root, path.dirname(applet)), { recursive: true });
    try {
      symlinkSync('/bin/busybox', path.join(root, applet));
    } catch {
      /* listed twice */
    }
  }
  for (const d of ['etc', 'tmp', 'var/tmp', 'usr/local/bin']) mkdirSync(path.join(root, d), { recursive: true });
  return root;
}

/**
 * Installs stand-ins for package tools in /usr/local/bin (first on the
 * default PATH): each appends its argv, tab separated, to /commands.log and
 * succeeds. They record what kiln executes inside the container.
 */
export function recordingTools(root: string, tools: string[]): void {
  for (const tool of tools) {
    const file = path.join(root, 'usr/local/bin', tool);
    writeFileSync(
      file,
      `#!/bin/sh\n{ printf '%s' "${tool}"; for a in "$@"; do printf '\\t%s' "$a"; done; printf '\\n'; } >> /commands.log\n`,
    );
    chmodSync(file, 0o755);
  }
}

export function recordedCommands(root: string): string[][] {
  let text = '';
  try {
    text = readFileSync(path.join(root, 'commands.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));
}

export function planFor(
  yaml: string,
  file: string,
  targets: TargetKind[] = ['lxc', 'incus'],
  overrides: string[] = [],
): Plan {
  return makePlan(loadDefinitionText(yaml, file, { overrides, now: new Date('2025-01-01T00:00:00Z') }), { targets });
}

export function outputOf(sink: MemorySink, step?: string): string[] {
  return sink.events
    .filter(
      (e): e is Extract<KilnEvent, { type: 'output' }> =>
        e.type === 'output' && (step === undefined || e.step === step),
    )
    .map((e) => e.line);
}
