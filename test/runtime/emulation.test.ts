/**
 * Choosing the qemu-user emulator: native architectures need none, a
 * missing interpreter or an architecture without an emulator is a one-line
 * error naming what to install, and the registration matches aarch64 ELF
 * headers only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { elfArchitecture, emulatorFor, needsEmulation } from '../../src/runtime/emulation.js';
import { EmulationError } from '../../src/util/errors.js';

describe('emulatorFor', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('needs none for the host architecture and for i686 on x86_64', () => {
    expect(needsEmulation('amd64', 'x86_64')).toBe(false);
    expect(needsEmulation('i386', 'x86_64')).toBe(false);
    expect(needsEmulation('arm64', 'x86_64')).toBe(true);
    expect(emulatorFor('x86_64', 'x86_64')).toBeUndefined();
  });

  it('registers qemu-aarch64 for arm64 with the aarch64 ELF magic and flag F', () => {
    const e = emulatorFor('arm64', 'x86_64');
    expect(e?.architecture).toBe('aarch64');
    expect(e?.registration).toMatch(/^:kiln-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01/);
    expect(e?.registration).toContain('\\x02\\x00\\xb7\\x00:');
    expect(e?.registration).toMatch(/:[A-Z]*F[A-Z]*$/);
  });

  it('names qemu-user-static when the interpreter is missing', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'kiln-noqemu-'));
    dirs.push(empty);
    expect(() => emulatorFor('riscv64', 'x86_64', empty)).toThrow(EmulationError);
    expect(() => emulatorFor('riscv64', 'x86_64', empty)).toThrow(/qemu-riscv64-static is missing.*qemu-user-static/);
  });

  it('refuses an architecture without an emulator', () => {
    expect(() => emulatorFor('mips64el', 'x86_64')).toThrow(/knows no qemu-user emulator for it/);
  });

  it('reads the architecture of an ELF header', () => {
    const head = Buffer.alloc(20);
    head.write('\x7fELF', 0, 'latin1');
    head[4] = 2;
    head[5] = 1;
    head.writeUInt16LE(183, 18);
    expect(elfArchitecture(head)).toBe('aarch64');
    head.writeUInt16LE(62, 18);
    expect(elfArchitecture(head)).toBe('x86_64');
  });
});
