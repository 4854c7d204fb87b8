import type { SchemaNode } from './schema.js';
import { DEFINITION_SCHEMA } from './schema.js';

/**
 * The JSON Schema of definitions, derived from the same schema data the
 * validator uses, for editors (`# yaml-language-server: $schema=...`).
 * Shipped as schema/definition.schema.json; a test keeps the file in step.
 *
 * Plain strings also accept numbers, booleans and null: kiln, like
 * distrobuilder, reads `same_as: 3.20` or `mode: 0600` as the text written,
 * and an editor must not flag them.
 */
type Json = Record<string, unknown>;

function convert(s: SchemaNode): Json {
  const base: Json = { description: s.description };
  switch (s.type) {
    case 'string':
      if (s.enum) return { ...base, type: 'string', enum: [...s.enum] };
      return {
        ...base,
        type: ['string', 'number', 'boolean', 'null'],
        ...(s.pattern ? { pattern: s.pattern.regex } : {}),
        ...(s.nonBlank ? { minLength: 1 } : {}),
      };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'integer':
      return {
        ...base,
        type: 'integer',
        ...(s.minimum !== undefined ? { minimum: s.minimum } : {}),
        ...(s.maximum !== undefined ? { maximum: s.maximum } : {}),
      };
    case 'array':
      return {
        ...base,
        type: 'array',
        items: convert(s.items),
        ...(s.minItems !== undefined ? { minItems: s.minItems } : {}),
      };
    case 'map':
      return { ...base, type: 'object', additionalProperties: convert(s.values) };
    case 'object': {
      const properties: Json = {};
      for (const [k, v] of Object.entries(s.properties)) properties[k] = convert(v);
      return {
        ...base,
        type: 'object',
        properties,
        ...(s.required && s.required.length > 0 ? { required: [...s.required] } : {}),
        additionalProperties: false,
      };
    }
  }
}

/** A JSON Schema document for any schema written in the validator's data format. */
export function toJsonSchema(schema: SchemaNode, title: string): Json {
  return { $schema: 'http://json-schema.org/draft-07/schema#', title, ...convert(schema) };
}

export function definitionJsonSchema(): Json {
  return toJsonSchema(DEFINITION_SCHEMA, 'kiln image definition');
}

/** The text of schema/definition.schema.json. */
export function definitionJsonSchemaText(): string {
  return `${JSON.stringify(definitionJsonSchema(), null, 2)}\n`;
}
