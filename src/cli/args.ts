import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * A usage mistake: the one-line reason, then the usage line worded as
 * `kiln COMMAND --help` prints it, so both read the same.
 */
export function usageError(reason: string, usage: string): UsageError {
  return new UsageError(`${reason}\nUsage: ${usage}`);
}

/** A flag's value as a whole number of at least 1, or a usage error naming the flag. */
export function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: '${v}' is not a positive whole number`);
  return n;
}

/** node:util parseArgs with usage errors instead of exceptions with stacks. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // node's hint about '--' runs over several lines; the reason alone names the option.
    throw usageError((e as Error).message.replace(/\. To specify.*$/s, ''), usage);
  }
}
