// Turns command lines into typed settings: option tables for node:util parseArgs and strict value parsers.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../engine/errors.js';

export type OptionTable = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** parseArgs with its errors turned into usage errors (exit code 2) that say which option was wrong. */
export function parse(args: string[], options: OptionTable): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Node's messages are already specific ("Unknown option '--foo'"); make them one short line.
    throw new UserError(message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''), 'usage');
  }
}

export function str(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: Parsed['values'], name: string): boolean {
  return values[name] === true;
}

/** A finite number, optionally bounded; a clear usage error otherwise. */
export function num(
  values: Parsed['values'],
  name: string,
  bounds: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new UserError(`--${name}: '${raw}' is not a number`, 'usage');
  if (bounds.integer && !Number.isInteger(v)) throw new UserError(`--${name}: '${raw}' is not a whole number`, 'usage');
  if (bounds.min !== undefined && (bounds.exclusiveMin ? v <= bounds.min : v < bounds.min)) {
    throw new UserError(`--${name}: ${raw} is too small (must be ${bounds.exclusiveMin ? 'more than' : 'at least'} ${bounds.min})`, 'usage');
  }
  if (bounds.max !== undefined && v > bounds.max) {
    throw new UserError(`--${name}: ${raw} is too large (must be at most ${bounds.max})`, 'usage');
  }
  return v;
}

/** One of a fixed set of words. */
export function choice<T extends string>(values: Parsed['values'], name: string, allowed: readonly T[]): T | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UserError(`--${name}: '${raw}' is not one of ${allowed.join(', ')}`, 'usage');
  }
  return raw as T;
}

/** Options that make no sense together. */
export function exclusive(values: Parsed['values'], names: string[]): void {
  const given = names.filter((n) => values[n] !== undefined);
  if (given.length > 1) throw new UserError(`${given.map((n) => `--${n}`).join(' and ')} cannot be used together`, 'usage');
}
