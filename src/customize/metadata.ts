import type { ImageMetadata } from '../pack/types.js';

/** Metadata before any generator ran: no LXC templates, no Incus templates. */
export function emptyMetadata(): ImageMetadata {
  return { lxcTemplates: [], incusTemplates: {}, incusTemplateFiles: {} };
}
