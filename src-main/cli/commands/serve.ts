// `nmf-studio serve`: the web mode — the app's window in a browser, for machines without the desktop shell.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../engine/errors.js';
import { createAppService } from '../../service/session.js';
import { startWebServer } from '../../web/server.js';
import { flag, num, parse } from '../args.js';
import type { CommandContext } from '../main.js';

export const SERVE_HELP = `Usage: nmf-studio serve [--port P] [--open FILE]...

Serves the app's interface and its service over HTTP and WebSocket on 127.0.0.1 only. The first line
printed is the address to open, with a random token that every request must carry:
  Listening on http://127.0.0.1:<port>/?token=<token>
Stop it with Ctrl-C.

Options:
  --port P       port to listen on (default 0: any free port)
  --open FILE    open FILE in the page when it loads (repeatable)`;

const rendererDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'renderer');

export async function serveCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(args, {
    port: { type: 'string' },
    open: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (flag(values, 'help')) {
    ctx.stdout(SERVE_HELP);
    return 0;
  }
  if (positionals.length) throw new UserError(`serve takes no file arguments (use --open ${positionals[0]})`, 'usage');
  const port = num(values, 'port', { min: 0, max: 65535, integer: true }) ?? 0;
  const open = ((values.open as string[] | undefined) ?? []).map((f) => path.resolve(f));

  const service = createAppService({ shell: 'web', startupFiles: open });
  let server;
  try {
    server = await startWebServer({ port, ops: service, subscribe: (l) => service.subscribe(l), openUploadStream: (n, b, set) => service.openUploadStream(n, b, set), stageUpload: (set, n, b) => service.stageUpload(set, n, b), staticDir: rendererDir });
  } catch (err) {
    await service.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`port ${port} is already in use (try --port 0)`);
    if (code === 'EACCES') throw new UserError(`port ${port} needs privileges (try a port above 1023)`);
    throw err;
  }
  ctx.stdout(`Listening on ${server.url}`);
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  await server.close();
  await service.close();
  return 0;
}
