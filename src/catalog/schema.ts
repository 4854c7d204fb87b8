import type { ObjectSchema } from '../definition/schema.js';

/**
 * The catalog file (`kiln.yaml`), written once as data: the loader checks
 * files against it and schema/catalog.schema.json is generated from it.
 */
export const CATALOG_SCHEMA: ObjectSchema = {
  type: 'object',
  description: 'A kiln catalog: the images `kiln build --catalog` builds, tests and publishes.',
  required: ['images'],
  properties: {
    keep: {
      type: 'integer',
      minimum: 1,
      description:
        'How many builds of each product stay published (default 3); older ones are pruned after the grace period.',
    },
    grace: {
      type: 'string',
      nonBlank: true,
      description: 'How long pruned builds stay on disk for clients that still hold an old index (default 6h).',
    },
    images: {
      type: 'array',
      minItems: 1,
      description: 'The definitions to build, each with its matrix.',
      items: {
        type: 'object',
        description: 'One definition and the releases, architectures and variants to build from it.',
        required: ['definition'],
        properties: {
          definition: {
            type: 'string',
            nonBlank: true,
            description: 'Path of the definition file, relative to the catalog file.',
          },
          releases: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', nonBlank: true, description: 'A release (image.release).' },
            description: "Releases to build (default: the definition's image.release).",
          },
          architectures: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', nonBlank: true, description: 'An architecture (image.architecture), e.g. amd64.' },
            description: "Architectures to build (default: the definition's, or the host's).",
          },
          variants: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', nonBlank: true, description: 'A variant (image.variant).' },
            description: "Variants to build (default: the definition's, or default).",
          },
          formats: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', enum: ['lxc', 'incus', 'unified'], description: 'An output format.' },
            description: 'Output formats (default lxc and incus).',
          },
          options: {
            type: 'map',
            values: { type: 'string', description: 'The value.' },
            description: 'Overrides for every build of this entry, as `-o key=value` (key: value).',
          },
          release_options: {
            type: 'map',
            values: {
              type: 'map',
              values: { type: 'string', description: 'The value.' },
              description: 'Overrides for that release.',
            },
            description: 'Extra overrides per release, e.g. `edge: {source.same_as: "3.21"}`.',
          },
          release_aliases: {
            type: 'map',
            values: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'string',
                nonBlank: true,
                pattern: { regex: '^[A-Za-z0-9][A-Za-z0-9_.+-]*$', hint: 'a name like 12 or 24.04' },
                description: 'Another name of the release.',
              },
              description: 'Other names of that release.',
            },
            description:
              'Other names per release, published as aliases `<dist>/<name>[/<variant>]` (e.g. `bookworm: ["12"]`).',
          },
          requirements: {
            type: 'map',
            values: { type: 'string', description: 'The value.' },
            description:
              'Simplestreams requirements of every product of this entry, e.g. `secureboot: "false"`, `cgroup: v2`.',
          },
          keep: {
            type: 'integer',
            minimum: 1,
            description: 'Retention for the products of this entry (default: the catalog keep).',
          },
          locks: {
            type: 'string',
            nonBlank: true,
            description:
              'Directory of input locks, relative to the catalog file: a cell with a file `<dist>:<release>:<arch>:<variant>.lock.json` there builds as `kiln build --lock` would (copy a published build.lock.json to pin a cell).',
          },
        },
      },
    },
  },
};
