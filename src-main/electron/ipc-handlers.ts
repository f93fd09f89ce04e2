// The IPC surface as plain functions: check the sender, validate every argument, delegate to the service.
// Kept free of Electron imports so each handler's refusals are tested in Node.

import type { DesktopOps, ServiceOpName, ServiceOps } from '../api/contract.js';
import { absolutePath, documentId, exportKind, InvalidArgument, SERVICE_OPS, validateCall } from '../api/validate.js';
import type { WireAnswer } from '../api/wire.js';
import { describeError } from '../service/errors.js';

export type DesktopOpName = keyof DesktopOps;
export const DESKTOP_OPS: readonly DesktopOpName[] = ['saveResult', 'pickFiles', 'pickFolders', 'pickOutputFolder', 'showFolder'];

/** The channel name of an operation: one channel per operation, nothing generic. */
export const channelOf = (op: ServiceOpName | DesktopOpName): string => `nmf:${op}`;
export const EVENT_CHANNEL = 'nmf:event';

export type Handler = (senderUrl: string | undefined, args: unknown[]) => Promise<WireAnswer<unknown>>;

function arity(op: string, args: unknown[], n: number): void {
  if (args.length !== n) throw new InvalidArgument(`${op}: expected ${n} argument(s), got ${args.length}`);
}

/** Validators for the desktop-only operations (the service ones live in api/validate.ts). */
const DESKTOP_VALIDATORS: Record<DesktopOpName, (args: unknown[]) => unknown[]> = {
  saveResult: (args) => {
    arity('saveResult', args, 2);
    return [documentId('saveResult', args[0]), exportKind('saveResult', args[1])];
  },
  pickFiles: (args) => (arity('pickFiles', args, 0), []),
  pickFolders: (args) => (arity('pickFolders', args, 0), []),
  pickOutputFolder: (args) => (arity('pickOutputFolder', args, 0), []),
  showFolder: (args) => {
    arity('showFolder', args, 1);
    return [absolutePath('showFolder', 'path', args[0])];
  },
};

export function buildHandlers(service: ServiceOps, desktop: DesktopOps, origin: string): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  const guard =
    (op: string, call: (args: unknown[]) => Promise<unknown>): Handler =>
    async (senderUrl, args) => {
      // Only the app's own page may call in: not a navigated-away frame, not devtools, not a webview.
      if (!senderUrl || !senderUrl.startsWith(`${origin}/`)) return { ok: false, error: `${op}: refused: unknown sender` };
      try {
        return { ok: true, value: await call(args) };
      } catch (err) {
        return { ok: false, error: err instanceof InvalidArgument ? err.message : describeError(err) };
      }
    };
  for (const op of SERVICE_OPS) {
    handlers.set(
      channelOf(op),
      guard(op, (args) => {
        const clean = validateCall(op, args).args;
        return (service[op] as (...a: unknown[]) => Promise<unknown>).apply(service, clean);
      }),
    );
  }
  for (const op of DESKTOP_OPS) {
    handlers.set(
      channelOf(op),
      guard(op, (args) => (desktop[op] as (...a: unknown[]) => Promise<unknown>).apply(desktop, DESKTOP_VALIDATORS[op](args))),
    );
  }
  return handlers;
}
