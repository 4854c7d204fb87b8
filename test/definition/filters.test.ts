import { describe, expect, it } from 'vitest';
import {
  BUILD_MASK,
  loadDefinitionText,
  matchesFilters,
  TYPED_ONLY_MASK,
  UNTYPED_MASK,
} from '../../src/definition/index.js';
import type { Filters, ResolvedDefinition } from '../../src/definition/types.js';
import type { TypeMask } from '../../src/plan/types.js';

function definition(
  opts: { arch?: string; map?: string; release?: string; variant?: string; type?: 'container' | 'vm' } = {},
): ResolvedDefinition {
  const text = [
    'image:',
    '  distribution: debian',
    `  release: ${opts.release ?? 'bookworm'}`,
    `  architecture: ${opts.arch ?? 'x86_64'}`,
    `  variant: ${opts.variant ?? 'default'}`,
    'source:',
    '  downloader: debootstrap',
    ...(opts.map ? ['mappings:', `  architecture_map: ${opts.map}`] : []),
  ].join('\n');
  return loadDefinitionText(text, 'f.yaml', { targetType: opts.type ?? 'container' }).definition;
}

const EMPTY_MASK: TypeMask = { undefined: false, all: false, container: false, vm: false };
const ALL_ONLY: TypeMask = { undefined: false, all: true, container: false, vm: false };
const CONTAINER_ONLY: TypeMask = { undefined: false, all: false, container: true, vm: false };

describe('the types filter (definitions-spec 1.10)', () => {
  const entries: Array<[string, Filters]> = [
    ['untyped', {}],
    ['[container]', { types: ['container'] }],
    ['[vm]', { types: ['vm'] }],
    ['[container, vm]', { types: ['container', 'vm'] }],
  ];
  // Rows: mask and target type; columns: the four entries above.
  const table: Array<[string, TypeMask, 'container' | 'vm', boolean[]]> = [
    ['build (untyped + current + both), container', BUILD_MASK, 'container', [true, true, false, true]],
    ['build (untyped + current + both), vm', BUILD_MASK, 'vm', [true, false, true, true]],
    ['build-dir (untyped only), container', UNTYPED_MASK, 'container', [true, false, false, false]],
    ['build-dir (untyped only), vm', UNTYPED_MASK, 'vm', [true, false, false, false]],
    ['pack (typed only), container', TYPED_ONLY_MASK, 'container', [false, true, false, true]],
    ['pack (typed only), vm', TYPED_ONLY_MASK, 'vm', [false, false, true, true]],
    ['empty mask, container', EMPTY_MASK, 'container', [true, false, false, false]],
    ['"all" only, container', ALL_ONLY, 'container', [false, false, false, true]],
    ['"all" only, vm', ALL_ONLY, 'vm', [false, false, false, true]],
    [
      'container only, container (both types still match through the container bit)',
      CONTAINER_ONLY,
      'container',
      [false, true, false, true],
    ],
    ['container only, vm', CONTAINER_ONLY, 'vm', [false, false, false, false]],
  ];
  for (const [name, mask, type, expected] of table) {
    it(`matches as the mask table says: ${name}`, () => {
      const def = definition({ type });
      expect(entries.map(([, e]) => matchesFilters(e, def, mask))).toEqual(expected);
    });
  }
});

describe('release, architecture and variant filters', () => {
  it('are ANDed, each list ORed', () => {
    const def = definition({ release: 'bookworm', variant: 'cloud' });
    expect(matchesFilters({ releases: ['bullseye', 'bookworm'], variants: ['cloud'] }, def, BUILD_MASK)).toBe(true);
    expect(matchesFilters({ releases: ['bookworm'], variants: ['default'] }, def, BUILD_MASK)).toBe(false);
    expect(matchesFilters({ releases: [], variants: [] }, def, BUILD_MASK)).toBe(true);
  });

  it('compare architectures against the mapped name, not the typed one', () => {
    const mapped = definition({ arch: 'x86_64', map: 'debian' });
    expect(mapped.image.architecture_mapped).toBe('amd64');
    expect(matchesFilters({ architectures: ['amd64'] }, mapped, BUILD_MASK)).toBe(true);
    expect(matchesFilters({ architectures: ['x86_64'] }, mapped, BUILD_MASK)).toBe(false);
    const unmapped = definition({ arch: 'amd64' });
    expect(matchesFilters({ architectures: ['x86_64'] }, unmapped, BUILD_MASK)).toBe(false);
    expect(matchesFilters({ architectures: ['amd64'] }, unmapped, BUILD_MASK)).toBe(true);
  });

  it('compare releases as the text written, so 16.0 is not 16', () => {
    const def = definition({ release: '16.0' });
    expect(def.image.release).toBe('16.0');
    expect(matchesFilters({ releases: ['16.0'] }, def, BUILD_MASK)).toBe(true);
    expect(matchesFilters({ releases: ['16'] }, def, BUILD_MASK)).toBe(false);
  });
});
