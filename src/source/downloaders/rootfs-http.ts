import type { Downloader, SourceContext, SourceRecord } from '../types.js';
import { SourceError } from '../errors.js';
import { fetchVerified } from '../verify/fetch-verified.js';
import { unpackIntoRoot } from '../unpack-root.js';

/** Any root tarball, zip or squashfs over http(s) or from a file:// URL, unpacked as it is. */
export const rootfsHttp: Downloader = {
  name: 'rootfs-http',
  async fetch(ctx: SourceContext): Promise<SourceRecord> {
    const url = ctx.step.source.url;
    if (!url)
      throw new SourceError(
        'source.url: rootfs-http needs the URL of a root tarball, zip or squashfs (http, https or file)',
      );
    const { file, input } = await fetchVerified(ctx, url);
    const r = await unpackIntoRoot(ctx, file.path, `unpack ${url.slice(url.lastIndexOf('/') + 1)}`);
    return { downloader: 'rootfs-http', resolved: { format: r.format }, inputs: [input] };
  },
};
