import type { Generator } from './types.js';
import { readFileInRoot, writeFileInRoot } from '../file-ops.js';
import { requirePath } from './options.js';
import { BUILD_HOSTNAME } from '../../runtime/build-hostname.js';

function substitute(content: string, name: string): string {
  if (content.includes(BUILD_HOSTNAME)) return content.split(BUILD_HOSTNAME).join(name);
  return `127.0.1.1\t${name}\n${content}`;
}

/**
 * Puts the container's name into the hosts file: replaces the build-time
 * hostname, or prepends `127.0.1.1 NAME` (what distrobuilder's code does).
 */
export const hosts: Generator = {
  name: 'hosts',
  async run({ rootfs, entry, step, metadata }) {
    const path = requirePath(entry, step);
    const content = await readFileInRoot(rootfs, path);
    if (content === undefined) return;
    await writeFileInRoot(rootfs, path, substitute(content, 'LXC_NAME'));
    metadata.lxcTemplates.push(path);
    metadata.incusTemplateFiles['hosts.tpl'] = substitute(content, '{{ container.name }}');
    metadata.incusTemplates[path] = {
      template: 'hosts.tpl',
      when: entry.template?.when ?? ['create', 'copy'],
      ...(entry.template?.properties ? { properties: entry.template.properties } : {}),
    };
  },
};
