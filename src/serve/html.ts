export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** An absolute URL path for tree-relative segments; `:` stays readable. */
export function hrefFor(prefix: string, rel: string): string {
  const enc = rel.split('/').filter(Boolean).map((s) => encodeURIComponent(s).replace(/%3A/gi, ':'));
  return `${prefix}/${enc.join('/')}`;
}

export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
