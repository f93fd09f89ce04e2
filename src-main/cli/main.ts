// The `nmf-studio` command line: parses the command word, delegates to commands/, maps errors to exit codes.
//
// Exit codes: 0 success, 1 an input could not be used or a run failed, 2 bad usage, 130 interrupted.

import { readFileSync } from 'node:fs';
import { CancelledError, UserError } from '../engine/errors.js';
import { cleanupTemporaries } from '../formats/atomic.js';
import { disposeBackends } from '../jobs/backends.js';

export interface CommandContext {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Aborted on Ctrl-C / SIGTERM: runs stop within one iteration and remove their temporaries. */
  signal: AbortSignal;
}

type Command = (args: string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, { run: () => Promise<Command>; summary: string }> = {
  factor: { run: async () => (await import('./commands/factor.js')).factorCommand, summary: 'factorize a matrix file (CSV/TSV/.npy/.mtx) into W and H' },
  serve: { run: async () => (await import('./commands/serve.js')).serveCommand, summary: 'the app in a browser: serve the interface on 127.0.0.1 with a token' },
  compress: { run: async () => (await import('./commands/compress.js')).compressCommand, summary: 'compress images and whole folders to .nmfz (resumable, with reports)' },
  batch: { run: async () => (await import('./commands/compress.js')).batchCommand, summary: 'the same as compress, always writing reports' },
  decompress: { run: async () => (await import('./commands/decompress.js')).decompressCommand, summary: '.nmfz files back to PNG, JPEG, WebP or TIFF images' },
  info: { run: async () => (await import('./commands/info.js')).infoCommand, summary: 'the header of a .nmfz file as JSON' },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `Usage: nmf-studio <command> [options]

Non-negative matrix factorization (V ~= W·H) of images and matrix files.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run 'nmf-studio <command> --help' for a command's options.
Exit codes: 0 success, 1 some input could not be used or the run failed, 2 bad usage, 130 interrupted.`;
}

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  // Whoever read our output has gone (`… | head`): like a Unix filter on SIGPIPE, stop the run (quietly, and
  // without half-written files) instead of failing on the next line.
  let readerGone = false;
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    readerGone = true;
    controller.abort();
  };
  process.stdout.on('error', onStdoutError);
  const ctx: CommandContext = {
    stdout: (line) => void (readerGone || process.stdout.write(line + '\n')),
    stderr: (line) => process.stderr.write(line + '\n'),
    signal: controller.signal,
  };
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) {
      // A second Ctrl-C: leave now, still without half-written files.
      cleanupTemporaries();
      process.exit(130);
    }
    interrupted = true;
    ctx.stderr(`nmf-studio: ${sig === 'SIGINT' ? 'interrupted' : 'terminated'}; stopping…`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      ctx.stdout(usage());
      return name ? 0 : 2;
    }
    if (name === '--version' || name === '-v') {
      ctx.stdout(version());
      return 0;
    }
    const command = COMMANDS[name];
    if (!command) throw new UserError(`unknown command '${name}'`, 'usage');
    return await (await command.run())(rest, ctx);
  } catch (err) {
    if (err instanceof UserError) {
      ctx.stderr(`nmf-studio: ${err.message}`);
      if (err.kind === 'usage') {
        ctx.stderr(`Try 'nmf-studio ${name && COMMANDS[name] ? `${name} ` : ''}--help'.`);
        return 2;
      }
      return 1;
    }
    if (err instanceof CancelledError || interrupted || readerGone) {
      if (!readerGone) ctx.stderr('nmf-studio: stopped; no partial output was left behind');
      return 130;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    ctx.stderr(`nmf-studio: internal error: ${e.message}`);
    if (process.env.NMF_DEBUG) ctx.stderr(e.stack ?? '');
    else ctx.stderr('(set NMF_DEBUG=1 for details; this is a bug, please report it)');
    return 1;
  } finally {
    cleanupTemporaries();
    await disposeBackends();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// On Linux, writes to pipes, files and terminals are synchronous, so nothing is lost by exiting at once;
// exiting explicitly also ends any worker a failed backend probe may have left behind.
process.exit(await main(process.argv.slice(2)));
