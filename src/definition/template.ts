import { KilnError } from '../util/errors.js';
import { didYouMean } from './suggest.js';
import { FILTERS, isTrue, toText, UNDEFINED_SAFE_FILTERS } from './template-filters.js';

/**
 * The pongo2 subset definitions use: `{{ expr }}` with dotted variables,
 * `[index]`, literals, filters (`|capfirst`, `|default:"x"`), comparisons,
 * `and`/`or`/`not`/`in`, arithmetic; `{% if %}/{% elif %}/{% else %}/
 * {% endif %}`, `{% for x in list %}` (with `empty`, `reversed` and
 * `forloop.Counter`...), `{# comments #}` and `-` whitespace trimming.
 *
 * Two additions to pongo2 so that a literal `{{` can be emitted despite
 * distrobuilder's re-render loop (output that still contains `{{` or `{%` is
 * rendered again): `{% raw %}...{% endraw %}` (also `verbatim`) and an output
 * that is only a string literal, `{{ "{{" }}`. Their text is never rendered
 * again.
 */
export class TemplateError extends KilnError {
  /** Offset of the problem in the template text. */
  readonly offset: number;
  /** True when the error came from a re-render pass (offset is then in rendered text). */
  readonly inOutput: boolean;
  constructor(message: string, offset: number, inOutput = false) {
    super(message);
    this.offset = offset;
    this.inOutput = inOutput;
  }
}

export interface RenderOptions {
  /** An undefined variable is an error instead of an empty string. */
  strict?: boolean;
}

// ---------------------------------------------------------------- expressions

type Expr =
  | { k: 'lit'; v: unknown; at: number }
  | { k: 'var'; name: string; steps: Array<string | Expr>; at: number; text: string }
  | { k: 'filter'; target: Expr; name: string; arg?: Expr; at: number }
  | { k: 'not'; e: Expr; at: number }
  | { k: 'neg'; e: Expr; at: number }
  | { k: 'bin'; op: string; l: Expr; r: Expr; at: number }
  | { k: 'call'; name: string; args: Expr[]; at: number };

type Tok = { t: 'name' | 'num' | 'str' | 'op'; v: string; at: number; num?: number };

const OPS = [
  '==',
  '!=',
  '<>',
  '<=',
  '>=',
  '&&',
  '||',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '(',
  ')',
  '[',
  ']',
  '.',
  ',',
  '|',
  ':',
  '!',
];

function tokenize(src: string, base: number): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = base + i;
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const n = src[j + 1]!;
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new TemplateError('unterminated string literal', at);
      out.push({ t: 'str', v: s, at });
      i = j + 1;
      continue;
    }
    const num = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[0], at, num: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      out.push({ t: 'name', v: name[0], at });
      i += name[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new TemplateError(`unexpected character '${c}' in expression`, at);
    out.push({ t: 'op', v: op, at });
    i += op.length;
  }
  return out;
}

/**
 * Limits of one render, so that a small hostile template (loops nested over
 * long strings, parentheses nested 100,000 deep) gives an error naming its
 * position instead of exhausting memory or the stack.
 */
export const TEMPLATE_LIMITS = {
  /** Nesting of `(`, `[`, `not` and unary signs in one expression. */
  exprDepth: 64,
  /** Nesting of `{% if %}` and `{% for %}` blocks. */
  blockDepth: 32,
  /** Loop-body runs in one render, summed over every loop and pass. */
  iterations: 100_000,
  /** Characters of output of one render. */
  outputChars: 4 * 1024 * 1024,
} as const;

class ExprParser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly end: number,
  ) {}

  peek(): Tok | undefined {
    return this.toks[this.i];
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'op' && t.v === v;
  }
  private isName(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'name' && t.v === v;
  }
  private next(): Tok {
    const t = this.toks[this.i++];
    if (!t) throw new TemplateError('unexpected end of expression', this.end);
    return t;
  }
  expectName(): Tok {
    const t = this.next();
    if (t.t !== 'name') throw new TemplateError(`expected a name, got '${t.v}'`, t.at);
    return t;
  }
  expectOp(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) throw new TemplateError(`expected '${v}', got '${t.v}'`, t.at);
  }
  acceptName(v: string): boolean {
    if (this.isName(v)) {
      this.i++;
      return true;
    }
    return false;
  }
  acceptOp(v: string): boolean {
    if (this.isOp(v)) {
      this.i++;
      return true;
    }
    return false;
  }

  parse(): Expr {
    return this.or();
  }
  /** Runs a recursive production, refusing nesting deeper than the limit. */
  private nested(at: number, fn: () => Expr): Expr {
    if (++this.depth > TEMPLATE_LIMITS.exprDepth)
      throw new TemplateError(`expression nested deeper than ${TEMPLATE_LIMITS.exprDepth} levels`, at);
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }
  private or(): Expr {
    return this.nested(this.peek()?.at ?? this.end, () => this.orList());
  }
  private orList(): Expr {
    let l = this.and();
    for (;;) {
      const t = this.peek();
      if (this.acceptName('or') || this.acceptOp('||')) l = { k: 'bin', op: 'or', l, r: this.and(), at: t!.at };
      else return l;
    }
  }
  private and(): Expr {
    let l = this.not();
    for (;;) {
      const t = this.peek();
      if (this.acceptName('and') || this.acceptOp('&&')) l = { k: 'bin', op: 'and', l, r: this.not(), at: t!.at };
      else return l;
    }
  }
  private not(): Expr {
    const t = this.peek();
    if (this.acceptName('not') || this.acceptOp('!'))
      return { k: 'not', e: this.nested(t!.at, () => this.not()), at: t!.at };
    return this.comparison();
  }
  private comparison(): Expr {
    const l = this.additive();
    const t = this.peek();
    if (t && t.t === 'op' && ['==', '!=', '<>', '<', '>', '<=', '>='].includes(t.v)) {
      this.i++;
      return { k: 'bin', op: t.v === '<>' ? '!=' : t.v, l, r: this.additive(), at: t.at };
    }
    if (this.acceptName('in')) return { k: 'bin', op: 'in', l, r: this.additive(), at: t!.at };
    if (this.isName('not') && this.toks[this.i + 1]?.t === 'name' && this.toks[this.i + 1]?.v === 'in') {
      this.i += 2;
      return { k: 'not', e: { k: 'bin', op: 'in', l, r: this.additive(), at: t!.at }, at: t!.at };
    }
    return l;
  }
  private additive(): Expr {
    let l = this.term();
    for (;;) {
      const t = this.peek();
      if (t && t.t === 'op' && (t.v === '+' || t.v === '-')) {
        this.i++;
        l = { k: 'bin', op: t.v, l, r: this.term(), at: t.at };
      } else return l;
    }
  }
  private term(): Expr {
    let l = this.power();
    for (;;) {
      const t = this.peek();
      if (t && t.t === 'op' && (t.v === '*' || t.v === '/' || t.v === '%')) {
        this.i++;
        l = { k: 'bin', op: t.v, l, r: this.power(), at: t.at };
      } else return l;
    }
  }
  private power(): Expr {
    let l = this.unary();
    for (;;) {
      const t = this.peek();
      if (this.acceptOp('^')) l = { k: 'bin', op: '^', l, r: this.unary(), at: t!.at };
      else return l;
    }
  }
  private unary(): Expr {
    const t = this.peek();
    if (this.acceptOp('-')) return { k: 'neg', e: this.nested(t!.at, () => this.unary()), at: t!.at };
    if (this.acceptOp('+')) return this.nested(t!.at, () => this.unary());
    return this.filtered();
  }
  private filtered(): Expr {
    let e = this.primary();
    while (this.isOp('|')) {
      this.i++;
      const nameTok = this.expectName();
      const name = nameTok.v;
      if (!Object.prototype.hasOwnProperty.call(FILTERS, name)) {
        throw new TemplateError(`unknown filter '${name}'${didYouMean(name, Object.keys(FILTERS))}`, nameTok.at);
      }
      let arg: Expr | undefined;
      if (this.acceptOp(':')) arg = this.primary();
      e =
        arg === undefined
          ? { k: 'filter', target: e, name, at: nameTok.at }
          : { k: 'filter', target: e, name, arg, at: nameTok.at };
    }
    return e;
  }
  private primary(): Expr {
    const t = this.next();
    if (t.t === 'str') return { k: 'lit', v: t.v, at: t.at };
    if (t.t === 'num') return { k: 'lit', v: t.num, at: t.at };
    if (t.t === 'op' && t.v === '(') {
      const e = this.or();
      this.expectOp(')');
      return e;
    }
    if (t.t === 'name') {
      switch (t.v) {
        case 'true':
        case 'True':
          return { k: 'lit', v: true, at: t.at };
        case 'false':
        case 'False':
          return { k: 'lit', v: false, at: t.at };
        case 'nil':
        case 'None':
          return { k: 'lit', v: null, at: t.at };
      }
      if (this.isOp('(')) {
        this.i++;
        const args: Expr[] = [];
        if (!this.acceptOp(')')) {
          do args.push(this.or());
          while (this.acceptOp(','));
          this.expectOp(')');
        }
        return { k: 'call', name: t.v, args, at: t.at };
      }
      const steps: Array<string | Expr> = [];
      let text = t.v;
      for (;;) {
        if (this.acceptOp('.')) {
          const n = this.next();
          if (n.t !== 'name' && n.t !== 'num') throw new TemplateError(`expected a key after '.', got '${n.v}'`, n.at);
          steps.push(n.v);
          text += `.${n.v}`;
        } else if (this.acceptOp('[')) {
          steps.push(this.or());
          this.expectOp(']');
          text += '[...]';
        } else break;
      }
      return { k: 'var', name: t.v, steps, at: t.at, text };
    }
    throw new TemplateError(`unexpected '${t.v}' in expression`, t.at);
  }
}

function parseExpr(src: string, base: number): Expr {
  const toks = tokenize(src, base);
  if (toks.length === 0) throw new TemplateError('empty expression', base);
  const p = new ExprParser(toks, base + src.length);
  const e = p.parse();
  const rest = p.peek();
  if (rest) throw new TemplateError(`unexpected '${rest.v}' after expression`, rest.at);
  return e;
}

// ---------------------------------------------------------------- statements

type Node =
  | { k: 'text'; text: string }
  | { k: 'out'; e: Expr; at: number }
  | { k: 'raw'; text: string }
  | { k: 'if'; branches: Array<{ cond: Expr; body: Node[] }>; orelse: Node[] }
  | { k: 'for'; names: string[]; iter: Expr; reversed: boolean; body: Node[]; empty: Node[]; at: number };

interface Tag {
  name: string;
  args: string;
  argsAt: number;
  at: number;
}

const TAGS = [
  'if',
  'elif',
  'else',
  'endif',
  'for',
  'empty',
  'endfor',
  'raw',
  'endraw',
  'verbatim',
  'endverbatim',
  'comment',
  'endcomment',
];

type Piece =
  | { k: 'text'; text: string }
  | { k: 'out'; src: string; at: number }
  | { k: 'tag'; tag: Tag }
  | { k: 'raw'; text: string };

function lex(text: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  let trimNext = false;
  const pushText = (s: string): void => {
    if (trimNext) s = s.replace(/^\s+/, '');
    trimNext = false;
    if (s) out.push({ k: 'text', text: s });
  };
  const trimPrev = (): void => {
    const last = out[out.length - 1];
    if (last && last.k === 'text') {
      last.text = last.text.replace(/\s+$/, '');
      if (!last.text) out.pop();
    }
  };
  while (i < text.length) {
    const open = /\{\{|\{%|\{#/g;
    open.lastIndex = i;
    const m = open.exec(text);
    if (!m) {
      pushText(text.slice(i));
      break;
    }
    pushText(text.slice(i, m.index));
    const start = m.index;
    const kind = m[0];
    const close = kind === '{{' ? '}}' : kind === '{%' ? '%}' : '#}';
    const end = findClose(text, start + 2, close);
    if (end < 0) throw new TemplateError(`'${kind}' is not closed with '${close}'`, start);
    let inner = text.slice(start + 2, end);
    let innerAt = start + 2;
    if (inner.startsWith('-')) {
      trimPrev();
      inner = inner.slice(1);
      innerAt++;
    }
    let trimAfter = false;
    if (inner.endsWith('-')) {
      trimAfter = true;
      inner = inner.slice(0, -1);
    }
    i = end + 2;
    if (kind === '{#') {
      trimNext = trimAfter;
      continue;
    }
    if (kind === '{{') {
      out.push({ k: 'out', src: inner, at: innerAt });
      trimNext = trimAfter;
      continue;
    }
    const lead = inner.length - inner.trimStart().length;
    const body = inner.trim();
    const nm = /^[A-Za-z_]+/.exec(body);
    if (!nm) throw new TemplateError('expected a tag name after {%', innerAt + lead);
    // Problems with a tag as a whole are reported at its opening '{%'.
    const tag: Tag = { name: nm[0], args: body.slice(nm[0].length), argsAt: innerAt + lead + nm[0].length, at: start };
    if (tag.name === 'raw' || tag.name === 'verbatim' || tag.name === 'comment') {
      const endRe = new RegExp(`\\{%-?\\s*end${tag.name}\\s*-?%\\}`, 'g');
      endRe.lastIndex = i;
      const em = endRe.exec(text);
      if (!em) throw new TemplateError(`{% ${tag.name} %} is not closed with {% end${tag.name} %}`, tag.at);
      let content = text.slice(i, em.index);
      if (trimAfter) content = content.replace(/^\s+/, '');
      if (em[0].startsWith('{%-')) content = content.replace(/\s+$/, '');
      if (tag.name !== 'comment' && content) out.push({ k: 'raw', text: content });
      i = em.index + em[0].length;
      trimNext = em[0].endsWith('-%}');
      continue;
    }
    out.push({ k: 'tag', tag });
    trimNext = trimAfter;
  }
  return out;
}

/** The closing delimiter, skipping string literals inside the tag. */
function findClose(text: string, from: number, close: string): number {
  let quote: string | null = null;
  for (let j = from; j < text.length - 1; j++) {
    const c = text[j]!;
    if (quote) {
      if (c === '\\') j++;
      else if (c === quote) quote = null;
      continue;
    }
    if ((c === '"' || c === "'") && close !== '#}') {
      quote = c;
      continue;
    }
    if (text.startsWith(close, j)) return j;
  }
  return -1;
}

function parseNodes(pieces: Piece[]): Node[] {
  let i = 0;
  let depth = 0;
  const nestedBlock = (tag: Tag, parse: (tag: Tag) => Node): Node => {
    if (++depth > TEMPLATE_LIMITS.blockDepth)
      throw new TemplateError(
        `{% ${tag.name} %} blocks nested deeper than ${TEMPLATE_LIMITS.blockDepth} levels`,
        tag.at,
      );
    const n = parse(tag);
    depth--;
    return n;
  };
  const block = (enders: string[]): { nodes: Node[]; ender?: Tag } => {
    const nodes: Node[] = [];
    while (i < pieces.length) {
      const p = pieces[i++]!;
      if (p.k === 'text') nodes.push({ k: 'text', text: p.text });
      else if (p.k === 'raw') nodes.push({ k: 'raw', text: p.text });
      else if (p.k === 'out') nodes.push({ k: 'out', e: parseExpr(p.src, p.at), at: p.at });
      else {
        const tag = p.tag;
        if (enders.includes(tag.name)) return { nodes, ender: tag };
        if (tag.name === 'if') nodes.push(nestedBlock(tag, parseIf));
        else if (tag.name === 'for') nodes.push(nestedBlock(tag, parseFor));
        else if (TAGS.includes(tag.name)) throw new TemplateError(`unexpected {% ${tag.name} %}`, tag.at);
        else
          throw new TemplateError(
            `unknown tag '${tag.name}'${didYouMean(tag.name, TAGS)}; supported: if, elif, else, endif, for, empty, endfor, raw, verbatim, comment`,
            tag.at,
          );
      }
    }
    return { nodes };
  };
  const parseIf = (tag: Tag): Node => {
    const branches: Array<{ cond: Expr; body: Node[] }> = [];
    let cond = parseExpr(tag.args, tag.argsAt);
    let orelse: Node[] = [];
    for (;;) {
      const r = block(['elif', 'else', 'endif']);
      if (!r.ender) throw new TemplateError('{% if %} is not closed with {% endif %}', tag.at);
      branches.push({ cond, body: r.nodes });
      if (r.ender.name === 'elif') {
        cond = parseExpr(r.ender.args, r.ender.argsAt);
        continue;
      }
      if (r.ender.name === 'else') {
        const e = block(['endif']);
        if (!e.ender) throw new TemplateError('{% if %} is not closed with {% endif %}', tag.at);
        orelse = e.nodes;
      }
      return { k: 'if', branches, orelse };
    }
  };
  const parseFor = (tag: Tag): Node => {
    const m =
      /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?\s+in\s+(.+?)(\s+reversed)?\s*$/s.exec(
        tag.args,
      );
    if (!m) throw new TemplateError("expected '{% for NAME in EXPRESSION %}'", tag.at);
    const names = m[2] ? [m[1]!, m[2]] : [m[1]!];
    const iterAt = tag.argsAt + tag.args.indexOf(m[3]!, m[0].indexOf(' in ') + 1);
    const iter = parseExpr(m[3]!, iterAt);
    const r = block(['empty', 'endfor']);
    if (!r.ender) throw new TemplateError('{% for %} is not closed with {% endfor %}', tag.at);
    let empty: Node[] = [];
    if (r.ender.name === 'empty') {
      const e = block(['endfor']);
      if (!e.ender) throw new TemplateError('{% for %} is not closed with {% endfor %}', tag.at);
      empty = e.nodes;
    }
    return { k: 'for', names, iter, reversed: Boolean(m[4]), body: r.nodes, empty, at: tag.at };
  };
  const r = block([]);
  if (r.ender) throw new TemplateError(`unexpected {% ${r.ender.name} %}`, r.ender.at);
  return r.nodes;
}

export interface ParsedTemplate {
  nodes: Node[];
}

/** Parses a template; throws TemplateError with the offset of the problem. */
export function parseTemplate(text: string): ParsedTemplate {
  return { nodes: parseNodes(lex(text)) };
}

// ---------------------------------------------------------------- evaluation

const UNDEFINED: unique symbol = Symbol('undefined');
type Val = unknown;

interface Scope {
  vars: Record<string, unknown>;
  strict: boolean;
  /** Literal text (raw blocks, string-literal outputs) kept out of the re-render loop. */
  literals: string[];
  /** What is left of this render's limits (TEMPLATE_LIMITS). */
  budget: { iterations: number; chars: number };
  /** Offset of the innermost running loop, where an overflow from literal text is reported. */
  loopAt: number;
}

/** Appends output, refusing a render whose output passes the limit. */
function emit(out: string[], text: string, s: Scope, at: number): void {
  s.budget.chars -= text.length;
  if (s.budget.chars < 0)
    throw new TemplateError(
      `the output is larger than ${TEMPLATE_LIMITS.outputChars / 1024 / 1024} MiB (a loop or a value repeats itself?)`,
      at,
    );
  out.push(text);
}

const PH_OPEN = '\uFDD0';
const PH_CLOSE = '\uFDD1';

function lookup(obj: Val, key: string | number): Val {
  if (obj === UNDEFINED || obj === null || obj === undefined) return UNDEFINED;
  if (Array.isArray(obj)) {
    const i = typeof key === 'number' ? key : /^-?\d+$/.test(key) ? Number(key) : NaN;
    return Number.isInteger(i) && i >= 0 && i < obj.length ? obj[i] : UNDEFINED;
  }
  if (typeof obj === 'string') {
    const i = typeof key === 'number' ? key : /^\d+$/.test(key) ? Number(key) : NaN;
    const chars = [...obj];
    return Number.isInteger(i) && i < chars.length ? chars[i] : UNDEFINED;
  }
  if (typeof obj === 'object') {
    const k = String(key);
    return Object.prototype.hasOwnProperty.call(obj, k) ? (obj as Record<string, unknown>)[k] : UNDEFINED;
  }
  return UNDEFINED;
}

const plain = (v: Val): unknown => (v === UNDEFINED ? null : v);

function equal(a: Val, b: Val): boolean {
  const x = plain(a);
  const y = plain(b);
  if (typeof x === 'number' && typeof y === 'number') return x === y;
  if (x === null || y === null) return x === y;
  if (typeof x !== typeof y) return false;
  if (typeof x === 'object') return JSON.stringify(x) === JSON.stringify(y);
  return x === y;
}

function compare(op: string, a: Val, b: Val, at: number): boolean {
  const x = plain(a);
  const y = plain(b);
  let c: number;
  if (typeof x === 'number' && typeof y === 'number') c = x - y;
  else if (typeof x === 'string' && typeof y === 'string') c = x < y ? -1 : x > y ? 1 : 0;
  else if (x === null || y === null) return false;
  else throw new TemplateError(`cannot compare ${typeof x} with ${typeof y}`, at);
  return op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0;
}

function contains(container: Val, item: Val): boolean {
  const c = plain(container);
  const x = plain(item);
  if (typeof c === 'string') return c.includes(toText(x));
  if (Array.isArray(c)) return c.some((v) => equal(v, x));
  if (c && typeof c === 'object') return Object.prototype.hasOwnProperty.call(c, toText(x));
  return false;
}

function arith(op: string, a: Val, b: Val, at: number): Val {
  const x = plain(a);
  const y = plain(b);
  if (op === '+' && (typeof x === 'string' || typeof y === 'string')) return toText(x) + toText(y);
  const nx = typeof x === 'number' ? x : Number(toText(x) || 0);
  const ny = typeof y === 'number' ? y : Number(toText(y) || 0);
  if (Number.isNaN(nx) || Number.isNaN(ny)) throw new TemplateError(`'${op}' needs numbers`, at);
  switch (op) {
    case '+':
      return nx + ny;
    case '-':
      return nx - ny;
    case '*':
      return nx * ny;
    case '/':
      if (ny === 0) throw new TemplateError('division by zero', at);
      return Number.isInteger(nx) && Number.isInteger(ny) ? Math.trunc(nx / ny) : nx / ny;
    case '%':
      if (ny === 0) throw new TemplateError('division by zero', at);
      return nx % ny;
    default:
      return nx ** ny;
  }
}

function evaluate(e: Expr, s: Scope): Val {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'var': {
      let v: Val = Object.prototype.hasOwnProperty.call(s.vars, e.name) ? s.vars[e.name] : UNDEFINED;
      for (const step of e.steps) {
        if (typeof step === 'string') v = lookup(v, step);
        else {
          const k = plain(evaluate(step, s));
          v = lookup(v, typeof k === 'number' ? k : toText(k));
        }
      }
      return v;
    }
    case 'filter': {
      const v = evaluate(e.target, s);
      if (v === UNDEFINED && s.strict && !UNDEFINED_SAFE_FILTERS.has(e.name)) throw undefinedError(e.target, s);
      const arg = e.arg === undefined ? undefined : plain(evaluate(e.arg, s));
      try {
        return FILTERS[e.name]!(plain(v), arg, e.arg !== undefined);
      } catch (err) {
        if (err instanceof TemplateError) throw err;
        throw new TemplateError(`filter '${e.name}': ${(err as Error).message}`, e.at);
      }
    }
    case 'not':
      return !isTrue(plain(evaluate(e.e, s)));
    case 'neg': {
      const v = plain(evaluate(e.e, s));
      return typeof v === 'number' ? -v : -Number(toText(v) || 0);
    }
    case 'call':
      // Incus template functions (config_get, ...) exist only when Incus renders.
      if (s.strict)
        throw new TemplateError(`unknown function '${e.name}' (definitions have no template functions)`, e.at);
      return UNDEFINED;
    case 'bin': {
      if (e.op === 'and') {
        const l = evaluate(e.l, s);
        return isTrue(plain(l)) ? isTrue(plain(evaluate(e.r, s))) : false;
      }
      if (e.op === 'or') {
        const l = evaluate(e.l, s);
        return isTrue(plain(l)) ? true : isTrue(plain(evaluate(e.r, s)));
      }
      const l = evaluate(e.l, s);
      const r = evaluate(e.r, s);
      switch (e.op) {
        case '==':
          return equal(l, r);
        case '!=':
          return !equal(l, r);
        case '<':
        case '>':
        case '<=':
        case '>=':
          return compare(e.op, l, r, e.at);
        case 'in':
          return contains(r, l);
        default:
          return arith(e.op, l, r, e.at);
      }
    }
  }
}

function undefinedError(e: Expr, _s: Scope): TemplateError {
  const name = e.k === 'var' ? e.text : e.k === 'call' ? `${e.name}(...)` : 'value';
  return new TemplateError(`undefined variable '${name}'`, e.at);
}

function literalMarker(text: string, s: Scope): string {
  s.literals.push(text);
  return `${PH_OPEN}${s.literals.length - 1}${PH_CLOSE}`;
}

function run(nodes: Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.k) {
      case 'text':
        emit(out, n.text, s, s.loopAt);
        break;
      case 'raw':
        s.budget.chars -= n.text.length;
        emit(out, literalMarker(n.text, s), s, s.loopAt);
        break;
      case 'out': {
        const v = evaluate(n.e, s);
        if (v === UNDEFINED && s.strict) throw undefinedError(n.e, s);
        const text = toText(plain(v));
        if (n.e.k === 'lit' && typeof n.e.v === 'string') {
          s.budget.chars -= text.length;
          emit(out, literalMarker(text, s), s, n.at);
        } else emit(out, text, s, n.at);
        break;
      }
      case 'if': {
        const hit = n.branches.find((b) => isTrue(plain(evaluate(b.cond, s))));
        run(hit ? hit.body : n.orelse, s, out);
        break;
      }
      case 'for': {
        const it = plain(evaluate(n.iter, s));
        let pairs: Array<[unknown, unknown]> = [];
        if (Array.isArray(it)) pairs = it.map((v, i) => [i, v]);
        else if (typeof it === 'string') pairs = [...it].map((v, i) => [i, v]);
        else if (it && typeof it === 'object')
          pairs = Object.keys(it)
            .sort()
            .map((k) => [k, (it as Record<string, unknown>)[k]]);
        if (n.reversed) pairs.reverse();
        if (pairs.length === 0) {
          run(n.empty, s, out);
          break;
        }
        const saved = { ...s.vars };
        const outerLoopAt = s.loopAt;
        s.loopAt = n.at;
        pairs.forEach(([k, v], i) => {
          if (--s.budget.iterations < 0)
            throw new TemplateError(
              `loops ran more than ${TEMPLATE_LIMITS.iterations} times in one render (nested loops over long values?)`,
              n.at,
            );
          if (n.names.length === 2) {
            s.vars[n.names[0]!] = Array.isArray(it) ? v : k;
            s.vars[n.names[1]!] = Array.isArray(it) ? undefined : v;
          } else s.vars[n.names[0]!] = Array.isArray(it) || typeof it === 'string' ? v : k;
          s.vars.forloop = {
            Counter: i + 1,
            Counter0: i,
            Revcounter: pairs.length - i,
            Revcounter0: pairs.length - i - 1,
            First: i === 0,
            Last: i === pairs.length - 1,
          };
          run(n.body, s, out);
        });
        s.vars = saved;
        s.loopAt = outerLoopAt;
        break;
      }
    }
  }
}

/** Rendering passes before giving up: a value that renders to itself would loop forever in distrobuilder. */
const MAX_PASSES = 10;

/**
 * Renders `text` against `context` with distrobuilder's rule: while the
 * output still contains `{{` or `{%`, render it again. Literal text from
 * `{% raw %}` and `{{ "..." }}` is kept out of the loop.
 */
export function renderText(text: string, context: Record<string, unknown>, opts: RenderOptions = {}): string {
  const s: Scope = {
    vars: { ...context },
    strict: opts.strict ?? false,
    literals: [],
    budget: { iterations: TEMPLATE_LIMITS.iterations, chars: TEMPLATE_LIMITS.outputChars },
    loopAt: 0,
  };
  let current = text;
  for (let pass = 0; ; pass++) {
    if (pass > 0 && !current.includes('{{') && !current.includes('{%')) break;
    if (pass >= MAX_PASSES)
      throw new TemplateError(
        `the output still contains a template after ${MAX_PASSES} passes (does a value refer to itself?)`,
        0,
        true,
      );
    const out: string[] = [];
    // Each pass re-renders the whole output, so each may produce up to the limit.
    s.budget.chars = TEMPLATE_LIMITS.outputChars;
    s.loopAt = 0;
    try {
      run(parseTemplate(current).nodes, s, out);
    } catch (e) {
      if (e instanceof TemplateError && pass > 0)
        throw new TemplateError(`in text produced by the template: ${e.message}`, 0, true);
      throw e;
    }
    current = out.join('');
  }
  if (s.literals.length === 0) return current;
  const re = new RegExp(`${PH_OPEN}(\\d+)${PH_CLOSE}`, 'g');
  return current.replace(re, (_m, i: string) => s.literals[Number(i)] ?? '');
}
