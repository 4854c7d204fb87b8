import { toJsonSchema } from '../definition/json-schema.js';
import { CATALOG_SCHEMA } from './schema.js';

/** The text of schema/catalog.schema.json, from the schema data the loader checks against. */
export function catalogJsonSchemaText(): string {
  return `${JSON.stringify(toJsonSchema(CATALOG_SCHEMA, 'kiln catalog'), null, 2)}\n`;
}
