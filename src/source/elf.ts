import { open } from 'node:fs/promises';

const PT_INTERP = 3;

/**
 * True when `file` is an ELF executable without a program interpreter (static
 * or static-pie): it runs in a root that has no libc or ld.so. Read from the program
 * headers rather than `file(1)`, which is not always installed.
 */
export async function isStaticElf(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    if (bytesRead < 52 || head.readUInt32BE(0) !== 0x7f454c46) return false;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number): number => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const phoff = is64 ? u64(head, 32) : u32(head, 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    if (phnum === 0 || phentsize === 0) return false;
    const table = Buffer.alloc(phentsize * phnum);
    const got = await fh.read(table, 0, table.length, phoff);
    if (got.bytesRead < table.length) return false;
    for (let i = 0; i < phnum; i++) {
      const type = u32(table, i * phentsize);
      if (type === PT_INTERP) return false;
    }
    return true;
  } finally {
    await fh.close();
  }
}
