import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { probeDebian } from '../probe-debian.js';
import type { Downloader, SourceContext, SourceRecord } from '../types.js';
import { bootstrapArgs } from '../bootstrap-args.js';
import { keyringFor, requireTool, resolveMirror, runStreaming, verifiedByFor } from '../debian-common.js';

/**
 * kiln extension: mmdebstrap, the faster Debian bootstrapper, with the same
 * source keys as debootstrap. Early `remove` sets are purged in a customize
 * hook (mmdebstrap has no --exclude).
 */
export const mmdebstrap: Downloader = {
  name: 'mmdebstrap',
  probe: probeDebian,
  async fetch(ctx: SourceContext): Promise<SourceRecord> {
    const tool = await requireTool('mmdebstrap', 'mmdebstrap');
    const src = ctx.step.source;
    const suite = src.suite || ctx.definition.image.release;
    const { mirror } = await resolveMirror(ctx, suite);
    const keyring = await keyringFor(ctx);
    // mmdebstrap cleans apt lists at the end; a hook keeps the Release file for the record.
    const saved = path.join(ctx.workDir, `mmdebstrap-release-${process.pid}`);
    try {
      const hooks = [
        `--customize-hook=for f in "$1"/var/lib/apt/lists/*_dists_${suite}_InRelease "$1"/var/lib/apt/lists/*_dists_${suite}_Release; do if [ -f "$f" ]; then cp "$f" ${shellQuote(saved)}; break; fi; done`,
      ];
      const args = bootstrapArgs('mmdebstrap', ctx, { suite, mirror, keyringFile: keyring?.file, hooks });
      await runStreaming(ctx, tool, args);
      let sha256 = '';
      let size: number | undefined;
      try {
        const data = await readFile(saved);
        sha256 = createHash('sha256').update(data).digest('hex');
        size = data.length;
      } catch {
        // no Release file (e.g. a file:// flat repository): the record says so by an empty digest
      }
      return {
        downloader: 'mmdebstrap',
        resolved: { suite, mirror, ...(src.variant ? { variant: src.variant } : {}) },
        inputs: [
          {
            url: `${mirror.replace(/\/+$/, '')}/dists/${suite}/InRelease`,
            sha256,
            ...(size !== undefined ? { size } : {}),
            verifiedBy: verifiedByFor(ctx, keyring, 'mmdebstrap'),
          },
        ],
      };
    } finally {
      await rm(saved, { force: true });
      await keyring?.dispose();
    }
  },
};

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
