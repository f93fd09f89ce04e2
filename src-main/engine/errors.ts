// Error kinds the doors turn into messages and exit codes; anything else is a bug and keeps its stack.

/**
 * A problem with what the user gave us: a file that cannot be used ('input', exit code 1) or an
 * invalid option ('usage', exit code 2). The message is one line, names the file where there is one,
 * and is shown as is — never with a stack trace.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly kind: 'input' | 'usage' = 'input',
  ) {
    super(message);
  }
}

/**
 * A target no rank reaches (a ratio the least rank misses, a size smaller than the least ranks' file): a UserError to
 * the doors, and one a default target can step back from (jobs/compress.ts).
 */
export class TargetOutOfReach extends UserError {}

/** The run was cancelled (AbortSignal, Cancel button, Ctrl-C). Not a failure of the input. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

/** What the engine needs of an AbortSignal; a real AbortSignal satisfies it, and so does a flag in shared memory. */
export interface CancelSignal {
  readonly aborted: boolean;
}

export function throwIfCancelled(signal: CancelSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
