import type { Generator } from './types.js';
import { writeFileInRoot } from '../file-ops.js';
import { requireIncusVm } from './target.js';
import { KilnError } from '../../util/errors.js';

/** /etc/fstab of an Incus VM disk: the root and ESP partitions by label (`path` is ignored, as in distrobuilder). */
export function fstabContent(filesystem: string): string {
  const options = filesystem === 'btrfs' ? 'defaults,subvol=@' : 'defaults';
  return `LABEL=rootfs / ${filesystem} ${options} 0 0\nLABEL=UEFI /boot/efi vfat defaults 0 0\n`;
}

export const fstab: Generator = {
  name: 'fstab',
  async run({ rootfs, step, plan }) {
    requireIncusVm(plan, step, 'fstab');
    const fs = plan.definition.targets?.incus?.vm?.filesystem || 'ext4';
    if (fs !== 'ext4' && fs !== 'btrfs')
      throw new KilnError(`${step}: targets.incus.vm.filesystem '${fs}' is not ext4 or btrfs`);
    await writeFileInRoot(rootfs, '/etc/fstab', fstabContent(fs), { mode: 0o644 });
  },
};
