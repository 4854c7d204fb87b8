import { readFile } from 'node:fs/promises';
import { catalogFile, type CatalogData } from '../publish/index.js';

/** The catalog data `kiln index`/publish wrote, or an empty catalog for a tree without one. */
export async function readCatalog(tree: string): Promise<CatalogData> {
  try {
    return JSON.parse(await readFile(catalogFile(tree), 'utf8')) as CatalogData;
  } catch {
    return { generated: new Date(0).toISOString(), products: [] };
  }
}
