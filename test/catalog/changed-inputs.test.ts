/**
 * Every rebuild of a catalog cell is explained: kiln keeps what a build's
 * input digest was made of (build.json `inputParts`) and names what differs.
 */
import { describe, expect, it } from 'vitest';
import { changedInputs, inputDigest, type InputParts } from '../../src/pipeline/input-digest.js';

const base: InputParts = {
  kiln: '0.1.0',
  plan: 'p1',
  source: {
    'http://mirror/debian/dists/bookworm/InRelease': 'a',
    'http://mirror/debian-security/dists/bookworm-security/InRelease': 'b',
  },
  outputs: { formats: ['incus', 'lxc'] },
};

describe('what changed since the published build', () => {
  it('nothing, when the parts are the same (and then so is the digest)', () => {
    expect(changedInputs(base, { ...base })).toEqual([]);
    expect(inputDigest({ ...base })).toBe(inputDigest(base));
  });

  it('names an upstream file by its URL: a security update', () => {
    const now = {
      ...base,
      source: { ...base.source, 'http://mirror/debian-security/dists/bookworm-security/InRelease': 'c' },
    };
    expect(changedInputs(base, now)).toEqual([
      'http://mirror/debian-security/dists/bookworm-security/InRelease changed',
    ]);
    expect(inputDigest(now)).not.toBe(inputDigest(base));
  });

  it('names a new or dropped upstream file, kiln itself, the plan and the outputs', () => {
    const now: InputParts = {
      kiln: '0.2.0',
      plan: 'p2',
      source: {
        'http://mirror/debian/dists/bookworm/InRelease': 'a',
        'http://mirror/debian/dists/bookworm-updates/InRelease': 'u',
      },
      outputs: { formats: ['lxc'] },
    };
    expect(changedInputs(base, now)).toEqual([
      'kiln 0.1.0 -> 0.2.0',
      'the definition, its options or the plan changed',
      'the output options or the published names changed',
      'http://mirror/debian-security/dists/bookworm-security/InRelease no longer used',
      'http://mirror/debian/dists/bookworm-updates/InRelease new',
    ]);
  });

  it('says so when the published build predates input records', () => {
    expect(changedInputs(undefined, base)).toEqual(['the published build does not record its inputs']);
  });
});
