import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { machine } from 'node:os';
import { DefinitionError, KilnError, type Diagnostic } from '../util/errors.js';
import { isKnownArchitecture, lookupArchitecture, mapArchitecture } from './architectures.js';
import { templateContext } from './context.js';
import { decode } from './decode.js';
import { checkText, DEFINITION_LIMITS, tooLargeMessage } from './input-limits.js';
import { applyOverrides } from './overrides.js';
import { getAt, parentPath } from './paths.js';
import { checkRules } from './rules.js';
import { DEFINITION_SCHEMA, type SchemaNode } from './schema.js';
import { parseTemplate, renderText, TemplateError } from './template.js';
import type { Definition, LoadedDefinition, ResolvedDefinition } from './types.js';
import { parseTree, type Pos, type ScalarNode } from './yaml-tree.js';

export interface LoadOptions {
  /** `-o key=value`, applied in order before defaults and validation. */
  overrides?: string[];
  /** An undefined template variable is an error. */
  strictTemplates?: boolean;
  /** `vm` for virtual-machine builds; templates read it as `targets.type`. */
  targetType?: 'container' | 'vm';
  /** The clock for the default serial (tests pass a fixed one). */
  now?: Date;
}

/** Where each value of a loaded definition was written; the plan reports template errors through it. */
export interface SourceMap {
  file: string;
  positions: Map<string, Pos>;
  scalars: Map<string, ScalarNode>;
}

const sourceMaps = new WeakMap<LoadedDefinition, SourceMap>();

export function sourceMapOf(loaded: LoadedDefinition): SourceMap | undefined {
  return sourceMaps.get(loaded);
}

export const DEFAULT_NAME =
  '{{ image.distribution }}-{{ image.release }}-{{ image.architecture_mapped }}-{{ image.variant }}-{{ image.serial }}';
export const DEFAULT_DESCRIPTION =
  '{{ image.distribution|capfirst }} {{ image.release }} {{ image.architecture_mapped }}{% if image.variant != "default" %} ({{ image.variant }}){% endif %} ({{ image.serial }})';

/** lxc-ci's serial format (`%Y%m%d_%H:%M` UTC), which image servers and clients expect. */
export function defaultSerial(now: Date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}_${p(now.getUTCHours())}:${p(now.getUTCMinutes())}`;
}

async function readDefinition(file: string): Promise<Buffer> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of process.stdin) {
        size += (c as Buffer).length;
        if (size > DEFINITION_LIMITS.bytes) throw new KilnError(tooLargeMessage('<stdin>', size));
        chunks.push(c as Buffer);
      }
      return Buffer.concat(chunks);
    }
    // The size is checked on the open file, so a file growing after a stat cannot slip by.
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      if (size > DEFINITION_LIMITS.bytes) throw new KilnError(tooLargeMessage(file, size));
      const buf = Buffer.alloc(DEFINITION_LIMITS.bytes + 1);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
        if (bytesRead === 0) break;
        n += bytesRead;
        if (n > DEFINITION_LIMITS.bytes) throw new KilnError(tooLargeMessage(file, n));
      }
      return buf.subarray(0, n);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof KilnError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EISDIR'
          ? 'it is a directory'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.message;
    throw new KilnError(`cannot read definition ${file}: ${why}`);
  }
}

/**
 * Reads, checks and resolves a definition: strict YAML, `-o` overrides,
 * schema, cross-key rules, defaults (as distrobuilder, except that no
 * keyserver is set and the serial is lxc-ci's `YYYYMMDD_HH:MM`), computed
 * architectures, rendered name and description, and a check of every
 * template. Throws DefinitionError with every problem found.
 */
export async function loadDefinition(file: string, opts: LoadOptions = {}): Promise<LoadedDefinition> {
  const bytes = await readDefinition(file);
  return loadDefinitionText(bytes.toString('utf8'), file === '-' ? '<stdin>' : file, opts, bytes);
}

/** Same as loadDefinition, for text already in memory. */
export function loadDefinitionText(
  text: string,
  file: string,
  opts: LoadOptions = {},
  bytes?: Buffer,
): LoadedDefinition {
  const size = bytes?.length ?? Buffer.byteLength(text, 'utf8');
  if (size > DEFINITION_LIMITS.bytes) throw new KilnError(tooLargeMessage(file, size));
  const notText = checkText(text, bytes, file);
  if (notText.length > 0) throw new DefinitionError(notText);
  const digest = createHash('sha256')
    .update(bytes ?? Buffer.from(text, 'utf8'))
    .digest('hex');
  const parsed = parseTree(text, file);
  if (parsed.root === null) throw new DefinitionError(sortDiagnostics(parsed.diagnostics));

  const overridden = applyOverrides(parsed.root, opts.overrides ?? [], DEFINITION_SCHEMA, file);
  const decoded = decode(overridden.root, DEFINITION_SCHEMA, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics, ...overridden.diagnostics, ...decoded.diagnostics];
  const def = decoded.value as unknown as Definition;
  diagnostics.push(...checkRules(def, decoded.positions, decoded.keyPositions, file));
  if (diagnostics.length > 0)
    throw new DefinitionError(sortDiagnostics([...diagnostics, ...checkTemplateSyntax(def, decoded.scalars)]));

  const resolved = resolve(def, decoded.positions, file, opts);
  const strict = opts.strictTemplates ?? false;
  diagnostics.push(...checkTemplates(resolved, decoded.scalars, strict));
  if (diagnostics.length > 0) throw new DefinitionError(sortDiagnostics(diagnostics));

  const loaded: LoadedDefinition = {
    file,
    digest,
    definition: resolved,
    overrides: [...(opts.overrides ?? [])],
    strictTemplates: strict,
  };
  sourceMaps.set(loaded, { file, positions: decoded.positions, scalars: decoded.scalars });
  return loaded;
}

function resolve(def: Definition, positions: Map<string, Pos>, file: string, opts: LoadOptions): ResolvedDefinition {
  const image = def.image;
  const architecture = image.architecture || machine();
  if (!isKnownArchitecture(architecture)) {
    // Only reachable with the host default: a written value was checked by the schema.
    throw new DefinitionError([
      {
        file,
        line: 1,
        col: 1,
        path: 'image.architecture',
        message: `the host architecture '${architecture}' is unknown; set image.architecture`,
      },
    ]);
  }
  const arch = lookupArchitecture(architecture)!;
  const resolved: ResolvedDefinition = {
    ...def,
    image: {
      ...image,
      release: image.release ?? '',
      architecture,
      architecture_mapped: mapArchitecture(architecture, def.mappings?.architecture_map, def.mappings?.architectures),
      architecture_kernel: arch.kernel,
      architecture_personality: arch.personality,
      variant: image.variant || 'default',
      serial: image.serial || defaultSerial(opts.now ?? new Date()),
      expiry: image.expiry || '30d',
      name: image.name || DEFAULT_NAME,
      description: image.description || DEFAULT_DESCRIPTION,
    },
    targets: { ...def.targets, type: opts.targetType ?? 'container' },
  };
  // Rendered once here so that the build record, metadata and every later
  // template see the final strings.
  const strict = opts.strictTemplates ?? false;
  const render = (field: 'name' | 'description'): void => {
    // The defaults mention image.release, which may rightly be unset: only
    // a template the user wrote is held to strict rules.
    const written = Boolean(image[field]);
    try {
      resolved.image[field] = renderText(resolved.image[field], templateContext(resolved), {
        strict: strict && written,
      });
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      const pos = positions.get(`image.${field}`) ?? positions.get('image') ?? { file, line: 1, col: 1 };
      throw new DefinitionError([
        {
          file: pos.file,
          line: pos.line,
          col: pos.col,
          path: `image.${field}`,
          message: `template error: ${e.message}`,
        },
      ]);
    }
  };
  render('name');
  render('description');
  return resolved;
}

/** Which string fields are templates, from the schema (the same data the validator uses). */
function templateMode(path: string): 'always' | 'pongo' | undefined {
  let s: SchemaNode = DEFINITION_SCHEMA;
  for (const part of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (part.startsWith('[')) {
      if (s.type !== 'array') return undefined;
      s = s.items;
    } else if (s.type === 'object') {
      const next: SchemaNode | undefined = s.properties[part];
      if (!next) return undefined;
      s = next;
    } else if (s.type === 'map') s = s.values;
    else return undefined;
  }
  return s.type === 'string' ? s.template : undefined;
}

/**
 * Renders every template field once against the resolved definition:
 * syntax errors, unknown filters and (with strict templates) undefined
 * variables are reported with their position before any work starts.
 */
function checkTemplates(def: ResolvedDefinition, scalars: Map<string, ScalarNode>, strict: boolean): Diagnostic[] {
  const ctx = templateContext(def);
  return eachTemplate(def, scalars, true, (text) => renderText(text, ctx, { strict }));
}

/**
 * Template syntax only, for a definition that has other problems (it cannot
 * be resolved, but its templates can still be parsed), so that every
 * problem is reported in one go.
 */
function checkTemplateSyntax(def: Definition, scalars: Map<string, ScalarNode>): Diagnostic[] {
  return eachTemplate(def, scalars, false, (text) => parseTemplate(text));
}

function eachTemplate(
  def: Definition,
  scalars: Map<string, ScalarNode>,
  skipImage: boolean,
  check: (text: string) => unknown,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [path, node] of scalars) {
    const mode = templateMode(path);
    if (mode === undefined) continue;
    // A resolved definition's name and description were already rendered by resolve().
    if (skipImage && (path === 'image.name' || path === 'image.description')) continue;
    if (mode === 'pongo' && getAt(def, `${parentPath(path)}.pongo`) !== true) continue;
    const text = getAt(def, path);
    if (typeof text !== 'string') continue;
    try {
      check(text);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      const pos = e.inOutput ? node.pos : node.posAt(e.offset);
      out.push({ file: pos.file, line: pos.line, col: pos.col, path, message: `template error: ${e.message}` });
    }
  }
  return out;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  // Errors from the file first, in file order; those from -o options after, in option order.
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const fa = a.d.file.startsWith('-o ') ? 1 : 0;
      const fb = b.d.file.startsWith('-o ') ? 1 : 0;
      if (fa !== fb) return fa - fb;
      if (fa === 1) return a.i - b.i;
      return a.d.line - b.d.line || a.d.col - b.d.col || a.i - b.i;
    })
    .map((x) => x.d);
}
