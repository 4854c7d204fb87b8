import { sourceMapOf } from '../definition/load.js';
import { templateContext } from '../definition/context.js';
import { renderText, TemplateError } from '../definition/template.js';
import type { LoadedDefinition } from '../definition/types.js';
import { DefinitionError } from '../util/errors.js';

/** Renders definition fields for the plan; a template error names the field and its position. */
export interface FieldRenderer {
  (text: string, path: string): string;
}

export function fieldRenderer(loaded: LoadedDefinition): FieldRenderer {
  const ctx = templateContext(loaded.definition);
  const strict = loaded.strictTemplates ?? false;
  const map = sourceMapOf(loaded);
  return (text, path) => {
    try {
      return renderText(text, ctx, { strict });
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      const node = map?.scalars.get(path);
      const pos = node
        ? e.inOutput
          ? node.pos
          : node.posAt(e.offset)
        : (map?.positions.get(path) ?? { file: loaded.file, line: 1, col: 1 });
      throw new DefinitionError([
        { file: pos.file, line: pos.line, col: pos.col, path, message: `template error: ${e.message}` },
      ]);
    }
  };
}

/** A DefinitionError at the position of `path` in the loaded file. */
export function errorAt(loaded: LoadedDefinition, path: string, message: string): DefinitionError {
  const pos = sourceMapOf(loaded)?.positions.get(path) ?? { file: loaded.file, line: 1, col: 1 };
  return new DefinitionError([{ file: pos.file, line: pos.line, col: pos.col, path, message }]);
}
