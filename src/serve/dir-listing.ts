import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { escapeHtml, hrefFor, humanSize } from './html.js';

const MAX_ENTRIES = 5000;

/** A plain HTML listing of a tree directory; hidden entries, special files and symlinks leading out of the tree or into hidden places are left out. */
export async function renderDirListing(
  rootReal: string,
  dirPath: string,
  rel: string,
  prefix: string,
): Promise<string> {
  const entries = (await readdir(dirPath, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.'))
    .slice(0, MAX_ENTRIES);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  const rows: string[] = [];
  if (rel !== '')
    rows.push(`<li><a href="${escapeHtml(hrefFor(prefix, rel.split('/').slice(0, -1).join('/')))}/">../</a></li>`);
  for (const e of entries) {
    if (e.isSymbolicLink()) {
      const target = await realpath(join(dirPath, e.name)).catch(() => undefined);
      const r = target === undefined ? '..' : relative(rootReal, target);
      if (r.startsWith('..') || r.split(sep).some((c) => c.startsWith('.'))) continue;
    }
    const st = await stat(join(dirPath, e.name)).catch(() => undefined);
    // A FIFO, socket or device is never served, so it is not listed either.
    if (!st || !(st.isFile() || st.isDirectory())) continue;
    const href = hrefFor(prefix, rel ? `${rel}/${e.name}` : e.name) + (st.isDirectory() ? '/' : '');
    const label = e.name + (st.isDirectory() ? '/' : '');
    const size = st.isFile() ? ` <span class="size">${humanSize(st.size)}</span>` : '';
    rows.push(`<li><a href="${escapeHtml(href)}">${escapeHtml(label)}</a>${size}</li>`);
  }
  const title = `Index of ${prefix}/${rel}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}li{font-family:monospace;line-height:1.6}.size{color:#666}</style></head>
<body><h1>${escapeHtml(title)}</h1><ul>
${rows.join('\n')}
</ul><p><a href="${escapeHtml(prefix)}/">catalog</a></p></body></html>
`;
}
