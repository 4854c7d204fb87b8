import { open, readdir } from 'node:fs/promises';
import path from 'node:path';

/** e_machine of every ELF file under `dir` (183 is aarch64, 62 x86-64), with the files of each. */
export async function elfMachines(dir: string): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    const fh = await open(file, 'r');
    try {
      const head = Buffer.alloc(20);
      const { bytesRead } = await fh.read(head, 0, 20, 0);
      if (bytesRead < 20 || head.readUInt32BE(0) !== 0x7f454c46) continue;
      const m = head.readUInt16LE(18);
      out.set(m, [...(out.get(m) ?? []), file]);
    } finally {
      await fh.close();
    }
  }
  return out;
}
