import type { Generator } from './types.js';
import { existsInRoot, writeFileInRoot } from '../file-ops.js';
import { requirePath } from './options.js';

/**
 * LXC: the file becomes `LXC_NAME`, which lxc-download replaces with the
 * container's name. Incus: a template renders the instance name at create and
 * copy time. Only when the file exists in the image, as distrobuilder does.
 */
export const hostname: Generator = {
  name: 'hostname',
  async run({ rootfs, entry, step, metadata }) {
    const path = requirePath(entry, step);
    if (!(await existsInRoot(rootfs, path))) return;
    await writeFileInRoot(rootfs, path, 'LXC_NAME\n');
    metadata.lxcTemplates.push(path);
    metadata.incusTemplateFiles['hostname.tpl'] = '{{ container.name }}\n';
    metadata.incusTemplates[path] = {
      template: 'hostname.tpl',
      when: entry.template?.when ?? ['create', 'copy'],
      ...(entry.template?.properties ? { properties: entry.template.properties } : {}),
    };
  },
};
