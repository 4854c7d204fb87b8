import { createHash } from 'node:crypto';
import type { CatalogData, CatalogProduct } from '../publish/index.js';
import {
  baseUrl,
  containerName,
  launchCommand,
  lxcCreateCommand,
  remoteAddCommand,
  type PublicAddress,
} from './client-commands.js';
import { escapeHtml, hrefFor, humanSize } from './html.js';

/** Live filtering; without JavaScript the form filters on the server (`?q=`). */
const FILTER_SCRIPT = `
(function () {
  var box = document.getElementById('filter');
  var items = Array.prototype.slice.call(document.querySelectorAll('article.product'));
  var count = document.getElementById('count');
  function apply() {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (el) {
      var text = el.getAttribute('data-search');
      var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
      el.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = shown + ' of ' + items.length + ' products';
  }
  box.addEventListener('input', apply);
  apply();
})();
`;

export const CATALOG_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${createHash('sha256').update(FILTER_SCRIPT).digest('base64')}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#2d2a26;color:#fff;padding:1rem 2rem}
header h1{margin:0 0 .3rem 0;font-size:1.5rem}
header p{margin:0;color:#ddd}
main{padding:1rem 2rem;max-width:80rem}
form{margin:1rem 0}
input[type=search]{font-size:1rem;padding:.4rem;width:24rem;max-width:100%}
article{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}
article h2{margin:0 0 .4rem 0;font-size:1.15rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.5rem 0}
dt{color:#555}dd{margin:0}
pre{background:#f0eeeb;padding:.5rem;margin:.3rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
code{font-family:ui-monospace,monospace;font-size:.9rem}
.formats span{display:inline-block;background:#e6e1da;border-radius:3px;padding:0 .4rem;margin-right:.3rem}
section.setup{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem}
`;

export interface CatalogContext {
  address: PublicAddress;
  /** WGETRC for the LXC client when the server uses kiln's local CA. */
  wgetrc?: string | undefined;
  caPath?: string | undefined;
  query: string;
  /** Tree-relative path of the newest catalog build report (`kiln build --catalog`). */
  report?: string;
}

export function searchText(p: CatalogProduct): string {
  return [
    p.distribution,
    p.release,
    p.arch,
    p.variant,
    p.os,
    p.releaseTitle,
    p.description,
    p.latest.serial,
    ...p.aliases,
    ...p.latest.formats,
  ]
    .join(' ')
    .toLowerCase();
}

function productMatches(p: CatalogProduct, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const text = searchText(p);
  return words.every((w) => text.includes(w));
}

function formatDate(unix: number): string {
  return unix > 0 ? `${new Date(unix * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC` : 'unknown';
}

function renderProduct(p: CatalogProduct, ctx: CatalogContext): string {
  const id = `${p.distribution}:${p.release}:${p.arch}:${p.variant}`;
  const name = containerName(p);
  const prefix = ctx.address.prefix;
  const files = p.latest.artifacts
    .map(
      (a) =>
        `<li><a href="${escapeHtml(hrefFor(prefix, `${p.latest.path}/${a.name}`))}">${escapeHtml(a.name)}</a> <span class="size">${humanSize(a.size)}</span></li>`,
    )
    .concat([
      `<li><a href="${escapeHtml(hrefFor(prefix, `${p.latest.path}/SHA256SUMS`))}">SHA256SUMS</a></li>`,
      `<li><a href="${escapeHtml(hrefFor(prefix, `${p.latest.path}/build.json`))}">build.json</a></li>`,
    ])
    .join('');
  const commands: string[] = [];
  if (p.latest.formats.includes('lxc')) {
    commands.push(
      `<p>LXC:</p><pre><code class="cmd lxc-create">${escapeHtml(lxcCreateCommand(p, ctx.address, { wgetrc: ctx.wgetrc, name }))}</code></pre>`,
    );
  }
  const alias = p.aliases[0];
  if (alias) {
    commands.push(
      `<p>Incus:</p><pre><code class="cmd incus-launch">${escapeHtml(launchCommand('incus', alias, name))}</code></pre>`,
    );
    commands.push(
      `<p>LXD:</p><pre><code class="cmd lxc-launch">${escapeHtml(launchCommand('lxc', alias, name))}</code></pre>`,
    );
  }
  return `<article class="product" id="${escapeHtml(id)}" data-product="${escapeHtml(id)}" data-search="${escapeHtml(searchText(p))}">
<h2>${escapeHtml(p.os)} ${escapeHtml(p.releaseTitle)} <small>${escapeHtml(p.arch)} (${escapeHtml(p.variant)})</small></h2>
${p.description ? `<p>${escapeHtml(p.description)}</p>` : ''}
<dl>
<dt>Product</dt><dd><code>${escapeHtml(id)}</code></dd>
<dt>Latest build</dt><dd class="serial">${escapeHtml(p.latest.serial)}</dd>
<dt>Built</dt><dd class="date">${escapeHtml(formatDate(p.latest.creationDate))}</dd>
<dt>Builds kept</dt><dd>${p.builds}</dd>
<dt>Formats</dt><dd class="formats">${p.latest.formats.map((f) => `<span>${escapeHtml(f)}</span>`).join('')}${p.userConfig ? '<span>unprivileged</span>' : ''}</dd>
${p.aliases.length ? `<dt>Aliases</dt><dd>${p.aliases.map((a) => `<code>${escapeHtml(a)}</code>`).join(', ')}</dd>` : ''}
<dt>Files</dt><dd><ul class="files">${files}</ul></dd>
</dl>
${commands.join('\n')}
</article>`;
}

/** The page at `/`: every product, its latest build and how to use it, readable without JavaScript. */
export function renderCatalogPage(data: CatalogData, ctx: CatalogContext): string {
  const shown = data.products.filter((p) => productMatches(p, ctx.query));
  const a = ctx.address;
  const setup = [
    `<p>LXC (<code>lxc-create -t download</code>) uses <code>--server ${escapeHtml(`${a.host}:${a.port}${a.prefix}`)}</code>${ctx.wgetrc ? `; on this machine <code>WGETRC=${escapeHtml(ctx.wgetrc)}</code> makes wget trust the server's local CA (<code>${escapeHtml(ctx.caPath ?? '')}</code>)` : ''}.</p>`,
    `<p>Incus:</p><pre><code class="cmd incus-remote">${escapeHtml(remoteAddCommand('incus', a))}</code></pre>`,
    `<p>LXD:</p><pre><code class="cmd lxc-remote">${escapeHtml(remoteAddCommand('lxc', a))}</code></pre>`,
    ctx.caPath
      ? `<p>The Incus/LXD client and daemon must trust the CA certificate (for example with <code>SSL_CERT_FILE=${escapeHtml(ctx.caPath)}</code> for the client).</p>`
      : '',
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kiln images at ${escapeHtml(baseUrl(a))}</title><style>${STYLE}</style></head>
<body>
<header><h1>Container images</h1><p>${data.products.length} products at <code>${escapeHtml(baseUrl(a))}</code>, indexes updated ${escapeHtml(data.generated.slice(0, 16).replace('T', ' '))} UTC</p></header>
<main>
<form method="get" action="${escapeHtml(a.prefix)}/" role="search"><label for="filter">Filter </label><input id="filter" name="q" type="search" value="${escapeHtml(ctx.query)}" placeholder="distribution, release, arch, variant, alias" autocomplete="off"> <button type="submit">Filter</button></form>
<p id="count">${shown.length} of ${data.products.length} products</p>
<section class="setup"><h2>Using this server</h2>
${setup}
${ctx.report ? `<p>Latest build report: <a id="report" href="${escapeHtml(hrefFor(a.prefix, ctx.report))}">${escapeHtml(ctx.report)}</a></p>` : ''}
<p>Indexes: <a href="${escapeHtml(hrefFor(a.prefix, 'meta/1.0/index-system'))}">meta/1.0/index-system</a>, <a href="${escapeHtml(hrefFor(a.prefix, 'streams/v1/index.json'))}">streams/v1/index.json</a>, <a href="${escapeHtml(hrefFor(a.prefix, 'streams/v1/images.json'))}">streams/v1/images.json</a>, <a href="${escapeHtml(hrefFor(a.prefix, 'images'))}/">images/</a></p>
</section>
<div id="products">
${shown.map((p) => renderProduct(p, ctx)).join('\n')}
</div>
${data.products.length === 0 ? '<p>No images published yet. Build one with <code>kiln build DEFINITION --out DIR</code>.</p>' : ''}
</main>
<script>${FILTER_SCRIPT}</script>
</body></html>
`;
}
