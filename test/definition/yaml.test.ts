import { describe, expect, it } from 'vitest';
import { loadDefinitionText } from '../../src/definition/index.js';

const HEAD = 'image:\n  distribution: x\n  architecture: amd64\nsource:\n  downloader: busybox\n';
const load = (body: string, opts: { strictTemplates?: boolean } = {}) =>
  loadDefinitionText(HEAD + body, 'y.yaml', opts).definition;

describe('reading YAML the way distrobuilder (yaml.v2) does', () => {
  it('keeps plain scalars in string fields as written', () => {
    const d = load(
      'files:\n- generator: dump\n  path: /x\n  mode: 0600\n  uid: 0\n  content: 1.10\npackages:\n  custom_manager:\n    clean: {cmd: true}\n    install: {cmd: true}\n    remove: {cmd: true}\n    refresh: {cmd: true}\n    update: {cmd: 007}\n',
    );
    expect(d.files![0]).toMatchObject({ mode: '0600', uid: '0', content: '1.10' });
    expect(d.packages!.custom_manager!.clean.cmd).toBe('true');
    expect(d.packages!.custom_manager!.update.cmd).toBe('007');
  });

  it('accepts the YAML 1.1 boolean words in boolean fields', () => {
    expect(load('packages:\n  manager: apk\n  update: yes\n  cleanup: on\n').packages).toMatchObject({
      update: true,
      cleanup: true,
    });
    expect(load('packages:\n  manager: apk\n  update: No\n').packages!.update).toBe(false);
  });

  it('treats null and empty values as unset', () => {
    const d = load('targets:\nmappings:\n  architecture_map: ~\n');
    expect(d.targets).toEqual({ type: 'container' });
    expect(d.mappings).toEqual({});
    expect(d.image.architecture_mapped).toBe('amd64');
  });

  it('expands aliases and merge keys; keys written in the map win', () => {
    const d = load(
      'files:\n- &common\n  generator: remove\n  path: /a\n  variants: [cloud]\n- <<: *common\n  path: /b\n- *common\n',
    );
    expect(d.files!.map((f) => [f.generator, f.path, f.variants])).toEqual([
      ['remove', '/a', ['cloud']],
      ['remove', '/b', ['cloud']],
      ['remove', '/a', ['cloud']],
    ]);
  });

  it('holds only templates the user wrote to strict rules (the default name mentions an unset release)', () => {
    expect(load('', { strictTemplates: true }).image.name).toMatch(/^x--amd64-default-\d{8}_\d\d:\d\d$/);
    expect(() =>
      load('targets:\n  lxc:\n    create_message: "{{ image.release }}"\n', { strictTemplates: true }),
    ).toThrow("y.yaml:8:25: targets.lxc.create_message: template error: undefined variable 'image.release'");
  });
});
