import { stringify } from 'yaml';
import { KilnError } from '../util/errors.js';
import type { ResolvedDefinition } from '../definition/types.js';
import type { ImageMetadata } from './types.js';
import type { SmallMember } from './small-tar.js';

/**
 * Incus/LXD `metadata.yaml` (definitions-spec 8.2): the image's own
 * architecture name, creation and expiry dates, the seven properties
 * distrobuilder writes and the templates. Keys are sorted, which is also
 * the order Incus's yaml serialisation uses.
 */
export function metadataYaml(
  def: ResolvedDefinition,
  meta: ImageMetadata,
  creationDate: number,
  expiryDate: number,
): string {
  const img = def.image;
  const templates: Record<string, unknown> = {};
  for (const path of Object.keys(meta.incusTemplates).sort()) {
    const t = meta.incusTemplates[path];
    if (t === undefined) continue;
    templates[path] = {
      when: [...t.when],
      create_only: t.create_only ?? false,
      template: t.template,
      properties: { ...(t.properties ?? {}) },
    };
  }
  const doc = {
    architecture: img.architecture,
    creation_date: creationDate,
    expiry_date: expiryDate,
    properties: {
      architecture: img.architecture_mapped,
      description: img.description,
      name: img.name,
      os: img.distribution,
      release: img.release,
      serial: img.serial,
      variant: img.variant,
    },
    templates,
  };
  return stringify(doc, { sortMapEntries: true, lineWidth: 0 });
}

const TEMPLATE_FILE = /^[A-Za-z0-9._+-]+$/;

/** `metadata.yaml` then `templates/` (only when there are template files). */
export function incusMetadataMembers(
  yamlText: string,
  meta: ImageMetadata,
): { head: SmallMember[]; templates: SmallMember[] } {
  const templates: SmallMember[] = [];
  const names = Object.keys(meta.incusTemplateFiles).sort();
  if (names.length > 0) templates.push({ name: 'templates/' });
  for (const name of names) {
    if (!TEMPLATE_FILE.test(name) || name === '.' || name === '..') {
      throw new KilnError(`Incus template file name "${name}" is not a plain file name (letters, digits, . _ + -)`);
    }
    templates.push({ name: `templates/${name}`, content: meta.incusTemplateFiles[name] });
  }
  for (const [path, t] of Object.entries(meta.incusTemplates)) {
    if (!(t.template in meta.incusTemplateFiles)) {
      throw new KilnError(`Incus template for ${path} names templates/${t.template}, which no generator wrote`);
    }
  }
  return { head: [{ name: 'metadata.yaml', content: yamlText }], templates };
}
