import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with usage errors instead of exceptions with stacks. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\nusage: ${usage}`);
  }
}
