// The web mode: the built renderer and the service API over HTTP/WebSocket, on loopback only, behind a token.
//
// Security model: the server binds 127.0.0.1 only; every request must carry the random token (in the
// URL, the x-nmf-token header, or the HttpOnly SameSite=Strict cookie the first page load sets, so the
// page's own scripts and images carry it too); a wrong Host header is refused (DNS rebinding), and every
// call's arguments go through the same validators as the desktop IPC.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DocumentInfo, ServiceEvent, ServiceOps } from '../api/contract.js';
import { fileName, InvalidArgument, validateCall } from '../api/validate.js';
import { decodeWire, encodeWire, TOKEN_HEADER, WEB_PATHS, type WireAnswer } from '../api/wire.js';
import { describeError } from '../service/errors.js';

export interface WebServerOptions {
  port: number;
  ops: ServiceOps;
  subscribe(listener: (event: ServiceEvent) => void): () => void;
  /**
   * Opens an uploaded file from its streamed bytes (POST WEB_PATHS.upload?name=…), with the files staged under
   * the same `set` before it (POST WEB_PATHS.upload?name=…&set=…&stage=1) beside it: its label files.
   */
  openUploadStream(name: string, body: AsyncIterable<Uint8Array>, set?: string): Promise<DocumentInfo>;
  stageUpload(set: string, name: string, body: AsyncIterable<Uint8Array>): Promise<void>;
  /** The built renderer (index.html and its assets). */
  staticDir: string;
  /** Largest request body accepted (an uploaded image or matrix file, or a call's arguments). */
  maxBodyBytes?: number;
  /** Fixed token for tests; a fresh random one otherwise. */
  token?: string;
}

export interface WebServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** The page's Content-Security-Policy: nothing remote, no inline script, no eval. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

const COOKIE = 'nmf_token';

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const maxBody = options.maxBodyBytes ?? 1024 * 1024 * 1024;
  const staticDir = path.resolve(options.staticDir);
  let port = 0;

  const tokenMatches = (candidate: string | undefined | null): boolean => {
    if (!candidate) return false;
    const a = Buffer.from(candidate);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  /** 'ok', or the status to refuse with: 401 no token at all, 403 a wrong token or a foreign Host. */
  const authorize = (req: IncomingMessage, url: URL): 'ok' | 401 | 403 => {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return 403;
    const candidates = [url.searchParams.get('token'), headerValue(req, TOKEN_HEADER), cookieValue(req, COOKIE)].filter(
      (c): c is string => !!c,
    );
    if (candidates.length === 0) return 401;
    return candidates.some(tokenMatches) ? 'ok' : 403;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
      console.error('nmf-studio serve:', err);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const auth = authorize(req, url);
    if (auth !== 'ok') {
      send(res, auth, 'text/plain; charset=utf-8', auth === 401 ? 'a token is required' : 'forbidden');
      return;
    }
    if (url.pathname === WEB_PATHS.upload) {
      if (req.method !== 'POST') {
        send(res, 405, 'text/plain; charset=utf-8', 'POST only');
        return;
      }
      await handleUpload(url, req, res);
      return;
    }
    if (url.pathname.startsWith(WEB_PATHS.call)) {
      if (req.method !== 'POST') {
        send(res, 405, 'text/plain; charset=utf-8', 'POST only');
        return;
      }
      await handleCall(decodeURIComponent(url.pathname.slice(WEB_PATHS.call.length)), req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'GET only');
      return;
    }
    await serveStatic(url, req, res);
  }

  async function handleCall(op: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    await answer(res, async () => {
      const body = await readBody(req, maxBody);
      const { op: name, args } = validateCall(op, decodeWire(body));
      const fn = options.ops[name] as (...a: unknown[]) => Promise<unknown>;
      return fn.apply(options.ops, args);
    });
  }

  // The file goes from the socket to disk chunk by chunk: a large upload costs the server no more memory
  // than a small one, and the page sends it straight from the file (see lib/api.ts).
  async function handleUpload(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    await answer(res, async () => {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBody) throw tooLarge(maxBody);
      const name = fileName('upload', url.searchParams.get('name'));
      const set = url.searchParams.get('set') ?? undefined;
      if (url.searchParams.has('stage')) {
        if (set === undefined) throw new InvalidArgument('upload: a staged file needs its set');
        await options.stageUpload(set, name, limited(req, maxBody));
        return null;
      }
      return options.openUploadStream(name, limited(req, maxBody), set);
    });
  }

  /** Runs the request's work and sends its outcome as a wire-encoded WireAnswer. */
  async function answer(res: ServerResponse, work: () => Promise<unknown>): Promise<void> {
    let outcome: WireAnswer<unknown>;
    try {
      outcome = { ok: true, value: await work() };
    } catch (err) {
      outcome = { ok: false, error: err instanceof InvalidArgument ? err.message : describeError(err) };
    }
    const bytes = encodeWire(outcome);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, 'cache-control': 'no-store' });
    res.end(bytes);
  }

  async function serveStatic(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.resolve(staticDir, rel);
    if (!file.startsWith(staticDir + path.sep)) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return;
    }
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new Error('not a file');
      size = s.size;
    } catch {
      send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': size,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    };
    if (url.searchParams.has('token')) {
      headers['set-cookie'] = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  }

  // Events: one WebSocket per page; every service event goes to every open socket.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const sockets = new Set<WebSocket>();
  const unsubscribe = options.subscribe((event) => {
    if (sockets.size === 0) return;
    const frame = encodeWire(event);
    for (const s of sockets) if (s.readyState === s.OPEN) s.send(frame, { binary: true });
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const auth = url.pathname === WEB_PATHS.events ? authorize(req, url) : 404;
    if (auth !== 'ok') {
      const text = auth === 401 ? 'Unauthorized' : auth === 403 ? 'Forbidden' : 'Not Found';
      socket.end(`HTTP/1.1 ${auth} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', () => ws.close(1003, 'this socket only sends'));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : options.port;
  if (!existsSync(path.join(staticDir, 'index.html'))) {
    console.error(`nmf-studio serve: the renderer is not built (${staticDir}); run npm run build`);
  }

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      unsubscribe();
      for (const s of sockets) s.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === name) return rest.join('=');
  }
  return undefined;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const tooLarge = (limit: number): InvalidArgument => new InvalidArgument(`request too large (over ${Math.round(limit / 1024 / 1024)} MiB)`);

/** The request's body chunk by chunk, failing once it passes `limit` bytes. */
async function* limited(req: IncomingMessage, limit: number): AsyncGenerator<Uint8Array> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    yield chunk as Buffer;
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of limited(req, limit)) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}
