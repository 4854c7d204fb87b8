import { isUtf8 } from 'node:buffer';
import type { Diagnostic } from '../util/errors.js';

/**
 * What a definition file may be before it is parsed. A real definition is a
 * few kilobytes (the largest of lxc-ci's is under 100 KB); without a cap a
 * 200 MB file exhausts the V8 heap, and brackets nested 100,000 deep exhaust
 * the stack of the YAML parser.
 */
export const DEFINITION_LIMITS = {
  bytes: 4 * 1024 * 1024,
  /** Nesting of maps and lists (block or flow). distrobuilder's deepest is 4. */
  depth: 64,
} as const;

/** The size error, the same for a file, stdin and text in memory. */
export function tooLargeMessage(file: string, size: number): string {
  const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `definition ${file} is ${mib(size)}; a definition may be at most ${mib(DEFINITION_LIMITS.bytes)}`;
}

interface LineCol {
  line: number;
  col: number;
}

function lineColAt(text: string, offset: number): LineCol {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, col: offset - last };
}

/**
 * Bytes that are not text: invalid UTF-8 (decoded as U+FFFD) and NUL. YAML
 * would accept both, and they would reach file names, shell commands and
 * index lines; distrobuilder's yaml.v2 refuses them too.
 */
export function checkText(text: string, bytes: Buffer | undefined, file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (bytes && !isUtf8(bytes)) {
    const at = text.indexOf('\uFFFD');
    out.push({
      file,
      ...lineColAt(text, Math.max(at, 0)),
      path: '',
      message: 'the file is not valid UTF-8 text; a definition must be UTF-8',
    });
  }
  const nul = text.indexOf('\0');
  if (nul !== -1)
    out.push({
      file,
      ...lineColAt(text, nul),
      path: '',
      message: 'a NUL byte; a definition is text and may not hold NUL',
    });
  return out;
}

/**
 * The first place where flow brackets (`[`, `{`) nest deeper than the limit,
 * skipping quoted strings and comments. Found before parsing, because the
 * YAML parser recurses once a level and would overflow the stack first.
 */
export function checkFlowDepth(text: string, file: string): Diagnostic[] {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const nl = text.indexOf('\n', i);
      if (nl === -1) break;
      i = nl;
      continue;
    }
    if ((c === '"' || c === "'") && depth > 0) quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > DEFINITION_LIMITS.depth)
        return [
          {
            file,
            ...lineColAt(text, i),
            path: '',
            message: `lists and maps nested deeper than ${DEFINITION_LIMITS.depth} levels`,
          },
        ];
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (c === '\n' && depth === 0) quote = '';
  }
  return [];
}
