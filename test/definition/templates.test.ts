import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DESCRIPTION,
  defaultSerial,
  loadDefinitionText,
  renderTemplate,
  TemplateError,
} from '../../src/definition/index.js';
import type { Definition } from '../../src/definition/types.js';

const def: Definition = {
  image: {
    distribution: 'ubuntu',
    release: 'noble',
    architecture: 'amd64',
    variant: 'cloud',
    serial: '20260101_00:00',
    architecture_mapped: 'amd64',
  },
  source: { downloader: 'debootstrap', url: '', keys: ['A', 'B'] },
  packages: { manager: 'apt', update: true, cleanup: false },
  targets: { type: 'container', incus: { vm: { filesystem: 'ext4', size: 4294967296 } } },
};
const r = (t: string, strict = false): string => renderTemplate(t, def, { strict });

describe('template expressions', () => {
  it('read the definition by its YAML key names, with dotted paths and indices', () => {
    expect(r('{{ image.distribution }}-{{ image.release }}/{{ source.keys[1] }}/{{ source.keys.0 }}')).toBe(
      'ubuntu-noble/B/A',
    );
    expect(r('{{ targets.type }} {{ targets.incus.vm.filesystem }} {{ targets.incus.vm.size }}')).toBe(
      'container ext4 4294967296',
    );
  });

  it('apply pongo2 filters', () => {
    expect(
      r('{{ image.distribution|capfirst }} {{ image.release|upper }} {{ "ABC"|lower }} {{ image.distribution|title }}'),
    ).toBe('Ubuntu NOBLE abc Ubuntu');
    expect(r('{{ image.nothing|default:"none" }} {{ source.url|default:image.release }}')).toBe('none noble');
    expect(r('{{ source.keys|join:"," }} {{ source.keys|length }} {{ source.keys|first }}{{ source.keys|last }}')).toBe(
      'A,B 2 AB',
    );
    expect(r('{{ "a-b-c"|cut:"-" }} [{{ "x"|ljust:3 }}] {{ 255|toHex }}')).toBe('abc [x  ] ff');
  });

  it('render booleans the pongo2 way and leave empty fields out of the context', () => {
    expect(r('{{ packages.update }}')).toBe('True');
    // cleanup: false and url: '' are omitted like yaml.v2 omitempty fields.
    expect(r('[{{ packages.cleanup }}][{{ source.url }}]{% if source.url %}set{% else %}unset{% endif %}')).toBe(
      '[][]unset',
    );
  });

  it('support if/elif/else with comparisons, and, or, not, in', () => {
    const t =
      '{% if image.release == "jammy" %}old{% elif image.release in "noble resolute" and not packages.cleanup %}new{% else %}?{% endif %}';
    expect(r(t)).toBe('new');
    expect(r('{% if image.variant != "default" %} ({{ image.variant }}){% endif %}')).toBe(' (cloud)');
    expect(r('{% if 2 > 1 or image.x %}y{% endif %}{% if "A" in source.keys %}k{% endif %}')).toBe('yk');
  });

  it('support for loops with forloop counters and empty', () => {
    expect(
      r('{% for k in source.keys %}{{ forloop.Counter }}={{ k }}{% if not forloop.Last %},{% endif %}{% endfor %}'),
    ).toBe('1=A,2=B');
    expect(r('{% for k in image.none %}x{% empty %}none{% endfor %}')).toBe('none');
  });

  it('trim whitespace with - and drop comments', () => {
    expect(r('a  {{- image.release -}}  b{# a comment #}')).toBe('anobleb');
  });
});

describe('undefined variables', () => {
  it('render as empty text by default', () => {
    expect(r('[{{ image.nope }}][{{ nope.deeper.still }}]')).toBe('[][]');
  });

  it('are an error with strict templates, except through default', () => {
    expect(() => r('{{ image.nope }}', true)).toThrow(TemplateError);
    expect(() => r('{{ image.nope|upper }}', true)).toThrow("undefined variable 'image.nope'");
    expect(r('{{ image.nope|default:"x" }}{% if image.nope %}y{% endif %}', true)).toBe('x');
  });
});

describe('the re-render rule', () => {
  it('renders output again while it contains {{ or {% (distrobuilder compatibility)', () => {
    const d: Definition = {
      ...def,
      image: { ...def.image, description: '{{ image.distribution|capfirst }} {{ image.release }}' },
    };
    expect(renderTemplate('You created {{ image.description }}.', d)).toBe('You created Ubuntu noble.');
  });

  it('lets {% raw %} and string literals emit a literal {{ that is not rendered again', () => {
    expect(r('{% raw %}{{ container.name }}{% endraw %}')).toBe('{{ container.name }}');
    expect(r('{{ "{{" }} container.name }}')).toBe('{{ container.name }}');
    expect(r('{% verbatim %}{% if x %}{% endverbatim %}')).toBe('{% if x %}');
  });

  it('stops a value that renders to itself instead of looping forever', () => {
    const d: Definition = { ...def, image: { ...def.image, name: '{{ image.name }}' } };
    expect(() => renderTemplate('{{ image.name }}', d)).toThrow('still contains a template after 10 passes');
  });
});

describe('syntax errors', () => {
  const cases: Array<[string, string, number]> = [
    ['{{ image.release', "'{{' is not closed with '}}'", 0],
    ['ab {{ image.release|nosuch }}', "unknown filter 'nosuch'", 20],
    ['{% if x %}y', '{% if %} is not closed with {% endif %}', 0],
    ['{% endif %}', 'unexpected {% endif %}', 0],
    ['{% for x of y %}{% endfor %}', "expected '{% for NAME in EXPRESSION %}'", 0],
    ['{{ "open }}', "'{{' is not closed with '}}'", 0],
    ['{{ a == }}', 'unexpected end of expression', 8],
    ['{{ }}', 'empty expression', 2],
  ];
  for (const [text, message, offset] of cases) {
    it(`reports ${JSON.stringify(text)} as "${message}" at offset ${offset}`, () => {
      try {
        r(text);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(TemplateError);
        expect((e as TemplateError).message).toContain(message);
        expect((e as TemplateError).offset).toBe(offset);
      }
    });
  }
});

describe('defaults rendered at load time', () => {
  const base =
    'image:\n  distribution: ubuntu\n  release: noble\n  architecture: x86_64\nsource:\n  downloader: debootstrap\nmappings:\n  architecture_map: debian\n';
  const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

  it('names the image distribution-release-mappedarch-variant-serial with lxc-ci serials', () => {
    expect(defaultSerial(now)).toBe('20260102_03:04');
    const img = loadDefinitionText(base, 'd.yaml', { now }).definition.image;
    expect(img.serial).toBe('20260102_03:04');
    expect(img.name).toBe('ubuntu-noble-amd64-default-20260102_03:04');
    expect(img.description).toBe('Ubuntu noble amd64 (20260102_03:04)');
    expect(img.expiry).toBe('30d');
    expect(img.variant).toBe('default');
  });

  it('adds the variant to the description only when it is not default', () => {
    const img = loadDefinitionText(base, 'd.yaml', { now, overrides: ['image.variant=cloud'] }).definition.image;
    expect(img.description).toBe('Ubuntu noble amd64 (cloud) (20260102_03:04)');
    expect(DEFAULT_DESCRIPTION).toContain('capfirst');
  });

  it('leaves the keyserver unset (the old default pool is dead)', () => {
    expect(loadDefinitionText(base, 'd.yaml').definition.source.keyserver).toBeUndefined();
  });

  it('exposes targets.type to templates, vm for VM builds', () => {
    const text = `${base}targets:\n  lxc:\n    create_message: "a {{ targets.type }}"\n`;
    expect(loadDefinitionText(text, 'd.yaml', { targetType: 'vm' }).definition.targets?.type).toBe('vm');
    expect(loadDefinitionText(text, 'd.yaml').definition.targets?.type).toBe('container');
  });

  it('leaves text that is not a template alone (files without pongo, actions without pongo)', () => {
    const text = `${base}files:\n- generator: template\n  name: x\n  path: /x\n  content: "{{ container.name }} {% if config_get('a', '') %}{% endif %}"\n`;
    const f = loadDefinitionText(text, 'd.yaml', { strictTemplates: true }).definition.files![0]!;
    expect(f.content).toBe("{{ container.name }} {% if config_get('a', '') %}{% endif %}");
  });
});
