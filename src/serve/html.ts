export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** An absolute URL path for tree-relative segments; `:` stays readable. */
export function hrefFor(prefix: string, rel: string): string {
  const enc = rel
    .split('/')
    .filter(Boolean)
    .map((s) => encodeURIComponent(s).replace(/%3A/gi, ':'));
  return `${prefix}/${enc.join('/')}`;
}

export { humanSize } from '../util/size.js';
