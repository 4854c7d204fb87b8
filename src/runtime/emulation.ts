import { existsSync } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lookupArchitecture } from '../definition/architectures.js';
import { EmulationError } from '../util/errors.js';

/**
 * Foreign-architecture steps run through qemu-user: kiln-run registers the
 * interpreter in a binfmt_misc instance of the container's own user
 * namespace (Linux 6.7 made binfmt_misc per user namespace), so no host
 * registration is needed and none is changed or left behind.
 */
export interface Emulator {
  /** Kernel name of the emulated architecture (`aarch64`). */
  architecture: string;
  /** The host file binfmt_misc opens at registration (flag F). */
  interpreter: string;
  /** The line kiln-run writes to binfmt_misc's `register`. */
  registration: string;
}

/** What tells an architecture's executables apart: ELF class, byte order and e_machine. */
interface ElfTarget {
  qemu: string;
  bits: 32 | 64;
  endian: 'le' | 'be';
  machine: number;
}

/** Kernel name to qemu-user target. */
const TARGETS: Readonly<Record<string, ElfTarget>> = {
  x86_64: { qemu: 'x86_64', bits: 64, endian: 'le', machine: 62 },
  i686: { qemu: 'i386', bits: 32, endian: 'le', machine: 3 },
  aarch64: { qemu: 'aarch64', bits: 64, endian: 'le', machine: 183 },
  armv6l: { qemu: 'arm', bits: 32, endian: 'le', machine: 40 },
  armv7l: { qemu: 'arm', bits: 32, endian: 'le', machine: 40 },
  armv8l: { qemu: 'arm', bits: 32, endian: 'le', machine: 40 },
  riscv64: { qemu: 'riscv64', bits: 64, endian: 'le', machine: 243 },
  ppc64le: { qemu: 'ppc64le', bits: 64, endian: 'le', machine: 21 },
  ppc64: { qemu: 'ppc64', bits: 64, endian: 'be', machine: 21 },
  s390x: { qemu: 's390x', bits: 64, endian: 'be', machine: 22 },
  loongarch64: { qemu: 'loongarch64', bits: 64, endian: 'le', machine: 258 },
};

/** Architectures kiln can build on a host of another one. */
export const EMULATED_ARCHITECTURES: readonly string[] = Object.keys(TARGETS);

/** The host's kernel architecture name (`x86_64`). */
export function hostArchitecture(): string {
  return os.machine();
}

/** The kernel name of an `image.architecture` value (`arm64` -> `aarch64`), or the name itself. */
export function kernelArchitecture(name: string): string {
  return lookupArchitecture(name)?.kernel ?? name;
}

/** True when binaries of `architecture` do not run natively on the host. */
export function needsEmulation(architecture: string, host = hostArchitecture()): boolean {
  const kernel = kernelArchitecture(architecture);
  if (kernel === host) return false;
  // An x86_64 CPU runs i686 code itself.
  return !(host === 'x86_64' && kernel === 'i686');
}

function hex(bytes: number[]): string {
  return bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

/**
 * The ELF header bytes binfmt_misc matches (qemu's own magic and mask):
 * class, byte order and version, any OS ABI, then e_type EXEC or DYN and
 * the machine.
 */
function magicAndMask(t: ElfTarget): { magic: string; mask: string } {
  const mask = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, ...new Array<number>(8).fill(0xff)];
  mask.push(...(t.endian === 'le' ? [0xfe, 0xff] : [0xff, 0xfe]), 0xff, 0xff);
  return { magic: hex(elfHeaderBytes(t)), mask: hex(mask) };
}

/** An ELF header's first 20 bytes for `t`: ident, then e_type EXEC and e_machine. */
function elfHeaderBytes(t: ElfTarget): number[] {
  const le = t.endian === 'le';
  const u16 = (v: number): number[] => (le ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff]);
  const ident = [0x7f, 0x45, 0x4c, 0x46, t.bits === 64 ? 2 : 1, le ? 1 : 2, 1, ...new Array<number>(9).fill(0)];
  return [...ident, ...u16(2), ...u16(t.machine)];
}

/**
 * The emulator for `architecture` on this host, or undefined when it runs
 * natively. Throws, before anything is downloaded or run, when no emulator
 * is known for it or qemu-user-static is not installed.
 */
export function emulatorFor(architecture: string, host = hostArchitecture(), hostRoot = '/'): Emulator | undefined {
  if (!needsEmulation(architecture, host)) return undefined;
  const kernel = kernelArchitecture(architecture);
  const target = TARGETS[kernel];
  if (!target) {
    throw new EmulationError(
      `architecture ${architecture} is not this host's (${host}) and kiln knows no qemu-user emulator for it; emulated: ${EMULATED_ARCHITECTURES.join(', ')}`,
    );
  }
  const [major = 0, minor = 0] = os.release().split('.').map(Number);
  if (major < 6 || (major === 6 && minor < 7)) {
    throw new EmulationError(
      `architecture ${architecture} needs emulation, which needs binfmt_misc per user namespace (Linux 6.7); this kernel is ${os.release()}`,
    );
  }
  // Debian's wrapper name tells qemu that binfmt_misc passes argv[0] on (flag P).
  const wrapper = `/usr/libexec/qemu-binfmt/${target.qemu}-binfmt-P`;
  const plain = `/usr/bin/qemu-${target.qemu}-static`;
  const { magic, mask } = magicAndMask(target);
  let interpreter: string;
  let flags: string;
  const present = (p: string): boolean => existsSync(path.join(hostRoot, p));
  if (present(wrapper)) {
    interpreter = wrapper;
    flags = 'POF';
  } else if (present(plain)) {
    interpreter = plain;
    flags = 'F';
  } else {
    throw new EmulationError(
      `architecture ${architecture} is not this host's (${host}): its steps run through qemu-user, but ${plain} is missing; install the Debian package qemu-user-static`,
    );
  }
  return {
    architecture: kernel,
    interpreter,
    registration: `:kiln-${target.qemu}:M::${magic}:${mask}:${interpreter}:${flags}`,
  };
}

/** qemu's name for `architecture` (`arm` for armv7l), as in qemu-arm-static; undefined if unknown. */
export function qemuTarget(architecture: string): string | undefined {
  return TARGETS[kernelArchitecture(architecture)]?.qemu;
}

/**
 * The first bytes of an executable of `architecture` (an ELF header of its
 * class, byte order and machine), which a binfmt_misc entry for it matches;
 * undefined for an architecture kiln cannot emulate.
 */
export function sampleElfHeader(architecture: string): Buffer | undefined {
  const t = TARGETS[kernelArchitecture(architecture)];
  return t ? Buffer.from(elfHeaderBytes(t)) : undefined;
}

/** The qemu-user binary that runs one static executable of `emulator`'s architecture on the host. */
export function hostRunner(emulator: Emulator): string {
  const target = TARGETS[emulator.architecture];
  return target ? `/usr/bin/qemu-${target.qemu}-static` : emulator.interpreter;
}

/** The kernel architecture of an ELF file's header, or undefined for anything else. */
export function elfArchitecture(head: Buffer): string | undefined {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const bits = head[4] === 2 ? 64 : 32;
  const endian = head[5] === 2 ? 'be' : 'le';
  const machine = endian === 'le' ? head.readUInt16LE(18) : head.readUInt16BE(18);
  for (const [kernel, t] of Object.entries(TARGETS)) {
    if (t.machine === machine && t.bits === bits && t.endian === endian) return kernel;
  }
  return undefined;
}

/**
 * The architecture of a root, from its /bin/sh (symlinks followed inside
 * the root, never out of it); undefined when it has none or it is not ELF.
 */
export async function rootArchitecture(rootfs: string): Promise<string | undefined> {
  for (const start of ['/bin/sh', '/usr/bin/sh', '/bin/busybox']) {
    let rel = start;
    for (let hops = 0; hops < 16; hops++) {
      const host = path.join(rootfs, path.posix.normalize(rel));
      let st;
      try {
        st = await lstat(host);
      } catch {
        break;
      }
      if (st.isSymbolicLink()) {
        const to = await readlink(host);
        rel = to.startsWith('/') ? to : path.posix.join(path.posix.dirname(rel), to);
        continue;
      }
      if (!st.isFile()) break;
      const fh = await open(host, 'r');
      try {
        const head = Buffer.alloc(20);
        await fh.read(head, 0, 20, 0);
        return elfArchitecture(head);
      } finally {
        await fh.close();
      }
    }
  }
  return undefined;
}
