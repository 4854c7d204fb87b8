/**
 * The definition stage: read a distrobuilder-compatible definition, check
 * it, resolve it. See definitions-spec.md section 1.
 */
export {
  loadDefinition,
  loadDefinitionText,
  sourceMapOf,
  defaultSerial,
  DEFAULT_NAME,
  DEFAULT_DESCRIPTION,
  type LoadOptions,
  type SourceMap,
} from './load.js';
export { matchesFilters, BUILD_MASK, UNTYPED_MASK, TYPED_ONLY_MASK, PHASE_MASKS } from './filters.js';
export { TemplateError, type RenderOptions } from './template.js';
export { productArchitecture, mapArchitecture, ARCHITECTURE_NAMES, ARCHITECTURE_MAP_NAMES } from './architectures.js';
export { DEFINITION_SCHEMA, DOWNLOADERS, MANAGERS, GENERATORS, TRIGGERS } from './schema.js';
export { parseExpiry } from './expiry.js';

import { productArchitecture } from './architectures.js';
import { templateContext } from './context.js';
import { renderText, type RenderOptions } from './template.js';
import type { Definition } from './types.js';

/**
 * Renders a template against a definition, the way distrobuilder does
 * (context = the whole definition by YAML key names; output containing
 * `{{` or `{%` is rendered again). Emit a literal `{{` with
 * `{% raw %}{{{% endraw %}` or `{{ "{{" }}`. Throws TemplateError.
 */
export function renderTemplate(
  text: string,
  definition: Definition,
  opts: RenderOptions & { extra?: Record<string, unknown> } = {},
): string {
  const ctx = { ...templateContext(definition), ...(opts.extra ?? {}) };
  return renderText(text, ctx, opts.strict === undefined ? {} : { strict: opts.strict });
}

/** The Debian-style architecture name image indexes use (amd64, arm64, armhf, i386, ppc64el, s390x, riscv64, ...). */
export function productArch(def: Pick<Definition, 'image'>): string {
  return productArchitecture(def.image.architecture ?? '');
}
