import type { ImageMetadata } from '../pack/types.js';

/** Metadata before any generator ran: no templates, no LXC-only difference. */
export function emptyMetadata(): ImageMetadata {
  return { lxcTemplates: [], incusTemplates: {}, incusTemplateFiles: {}, lxcOnly: { remove: [], add: [] } };
}
