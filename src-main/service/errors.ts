// One line for any failure that reaches a person: user errors as they are, bugs marked as such.

import { CancelledError, UserError } from '../engine/errors.js';

export function describeError(err: unknown): string {
  if (err instanceof UserError) return err.message;
  if (err instanceof CancelledError) return 'cancelled';
  if (err instanceof Error && err.name === 'UserError') return err.message; // rebuilt across a worker boundary
  const message = err instanceof Error ? err.message : String(err);
  return `internal error: ${message.split('\n')[0]}`;
}
