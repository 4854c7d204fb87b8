import type { Generator } from './types.js';
import { KilnError } from '../../util/errors.js';
import { requirePath, withNewline } from './options.js';

/** Incus only: a `.tpl` rendered by Incus at create/copy time. LXC has no equivalent. */
export const template: Generator = {
  name: 'template',
  async run({ entry, step, metadata }) {
    const path = requirePath(entry, step);
    if (!entry.name) throw new KilnError(`${step}: generator 'template' needs a name`);
    const file = `${entry.name}.tpl`;
    metadata.incusTemplateFiles[file] = withNewline(entry.content ?? '');
    metadata.incusTemplates[path] = {
      template: file,
      when: entry.template?.when ?? ['create', 'copy'],
      ...(entry.template?.properties ? { properties: entry.template.properties } : {}),
    };
  },
};
