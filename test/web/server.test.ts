import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { decodeWire, encodeWire, TOKEN_HEADER, type WireAnswer } from '../../src-main/api/wire.js';
import type { AppInfo, DocumentInfo } from '../../src-main/api/contract.js';
import { createAppService, type AppService } from '../../src-main/service/session.js';
import { startWebServer, type WebServer } from '../../src-main/web/server.js';
import { cliBin, fixture } from '../helpers/paths.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function http(port: number, pathname: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(init.body ? Buffer.from(init.body) : undefined);
  });
}

describe('web mode server', () => {
  let dir: string;
  let service: AppService;
  let server: WebServer;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nmf-web-'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>NMF Studio</title>');
    await writeFile(path.join(dir, 'app.js'), 'console.log(1)');
    service = createAppService({ shell: 'web', startupFiles: [] });
    server = await startWebServer({ port: 0, ops: service, subscribe: (l) => service.subscribe(l), openUploadStream: (n, b, set) => service.openUploadStream(n, b, set), stageUpload: (set, n, b) => service.stageUpload(set, n, b), staticDir: dir });
  });
  after(async () => {
    await server.close();
    await service.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the address is loopback with a long random token', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  test('a request without the token gets 401, a wrong token 403', async () => {
    assert.equal((await http(server.port, '/')).status, 401);
    assert.equal((await http(server.port, '/app.js')).status, 401);
    assert.equal((await http(server.port, '/?token=wrong')).status, 403);
    assert.equal((await http(server.port, '/api/call/appInfo', { method: 'POST', headers: { [TOKEN_HEADER]: 'x'.repeat(32) }, body: encodeWire([]) })).status, 403);
  });

  test('a foreign Host header is refused even with the token (DNS rebinding)', async () => {
    const r = await http(server.port, `/?token=${server.token}`, { headers: { host: `evil.example:${server.port}` } });
    assert.equal(r.status, 403);
  });

  test('the page loads with the token, sets a strict cookie and a CSP, and the cookie then authorises assets', async () => {
    const page = await http(server.port, `/?token=${server.token}`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.doesNotMatch(String(page.headers['content-security-policy']), /unsafe-eval/);
    const cookie = String(page.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const asset = await http(server.port, '/app.js', { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(asset.status, 200);
    assert.equal(asset.body.toString(), 'console.log(1)');
  });

  test('paths outside the renderer folder are not served', async () => {
    const r = await http(server.port, `/..%2f..%2fetc%2fpasswd?token=${server.token}`);
    assert.equal(r.status, 404);
  });

  test('calls go through validation: good calls answer, bad arguments are refused with a reason', async () => {
    const call = async (op: string, args: unknown[]) => {
      const r = await http(server.port, `/api/call/${op}`, { method: 'POST', headers: { [TOKEN_HEADER]: server.token }, body: encodeWire(args) });
      assert.equal(r.status, 200);
      return decodeWire<WireAnswer<unknown>>(new Uint8Array(r.body));
    };
    const info = await call('appInfo', []);
    assert.equal(info.ok, true);
    assert.equal((info as { value: AppInfo }).value.shell, 'web');
    const rel = await call('openPath', ['relative/file.png']);
    assert.deepEqual(rel, { ok: false, error: 'openPath: path must be an absolute path' });
    const unknown = await call('deleteEverything', []);
    assert.equal(unknown.ok, false);
    assert.match((unknown as { error: string }).error, /unknown operation/);
    const missing = await call('openPath', [path.join(dir, 'nope.png')]);
    assert.deepEqual(missing, { ok: false, error: 'nope.png: no such file' });
  });

  test('an upload streams to disk and opens; its name is validated, and it needs the token', async () => {
    // A 400×3 CSV sent in many small writes, as a browser sends a large file.
    const rows = Array.from({ length: 400 }, (_, i) => `${i},${i % 7},1`).join('\n') + '\n';
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: `/api/upload?name=${encodeURIComponent('big table.csv')}`, method: 'POST', headers: { [TOKEN_HEADER]: server.token } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      for (let at = 0; at < rows.length; at += 512) req.write(rows.slice(at, at + 512));
      req.end();
    });
    assert.equal(reply.status, 200);
    const opened = decodeWire<WireAnswer<DocumentInfo>>(new Uint8Array(reply.body));
    assert.ok(opened.ok, JSON.stringify(opened));
    assert.equal(opened.value.name, 'big table.csv');
    assert.ok(opened.value.kind === 'matrix');
    assert.deepEqual([opened.value.rows, opened.value.cols], [400, 3]);
    assert.deepEqual(opened.value.valueRange, { min: 0, max: 399 });

    const upload = (name: string, headers: Record<string, string>) =>
      http(server.port, `/api/upload?name=${encodeURIComponent(name)}`, { method: 'POST', headers, body: new TextEncoder().encode('1,2\n') });
    const sneaky = await upload('../escape.csv', { [TOKEN_HEADER]: server.token });
    assert.deepEqual(decodeWire(new Uint8Array(sneaky.body)), { ok: false, error: 'upload: name must be a file name' });
    const foreign = await upload('notes.docx', { [TOKEN_HEADER]: server.token });
    assert.match((decodeWire(new Uint8Array(foreign.body)) as { error: string }).error, /^notes\.docx: not a file NMF Studio opens/);
    assert.equal((await upload('a.csv', {})).status, 401);
    assert.equal((await http(server.port, `/api/upload?name=a.csv&token=${server.token}`)).status, 405);
  });

  test('files uploaded as one set: the matrix, sent last, opens with the others as its labels', async () => {
    const tenX = (name: string) => readFile(fixture('tenx', 'filtered_feature_bc_matrix', name));
    const post = async (query: string, body: Uint8Array) =>
      decodeWire<WireAnswer<DocumentInfo | null>>(new Uint8Array((await http(server.port, `/api/upload?${query}`, { method: 'POST', headers: { [TOKEN_HEADER]: server.token }, body })).body));
    const set = 'set-0123456789';
    assert.deepEqual(await post(`name=features.tsv&set=${set}&stage=1`, await tenX('features.tsv')), { ok: true, value: null });
    assert.deepEqual(await post(`name=barcodes.tsv&set=${set}&stage=1`, await tenX('barcodes.tsv')), { ok: true, value: null });
    const opened = await post(`name=matrix.mtx&set=${set}`, await tenX('matrix.mtx'));
    assert.ok(opened.ok && opened.value?.kind === 'matrix', JSON.stringify(opened));
    const genes = (await tenX('features.tsv')).toString('utf8').trim().split('\n').map((l) => l.split('\t')[1]);
    const barcodes = (await tenX('barcodes.tsv')).toString('utf8').trim().split('\n');
    assert.deepEqual([opened.value.rows, opened.value.cols, opened.value.rowLabels, opened.value.colLabels], [8, 6, genes, barcodes]);

    // plain one-per-line files go to the axis whose count they match; one that matches neither is named, by its own name
    const other = 'set-abcdefghij';
    await post(`name=cells.txt&set=${other}&stage=1`, new TextEncoder().encode('c1\nc2\nc3\n'));
    await post(`name=genes.txt&set=${other}&stage=1`, new TextEncoder().encode('g1\ng2\n'));
    const small = await post(`name=m.csv&set=${other}`, new TextEncoder().encode('1,2,3\n4,5,6\n'));
    assert.ok(small.ok && small.value?.kind === 'matrix', JSON.stringify(small));
    assert.deepEqual([small.value.rowLabels, small.value.colLabels], [['g1', 'g2'], ['c1', 'c2', 'c3']]);
    const bad = 'set-klmnopqrst';
    await post(`name=barcodes.tsv&set=${bad}&stage=1`, new TextEncoder().encode('a\nb\nc\nd\n'));
    assert.deepEqual(await post(`name=m.csv&set=${bad}`, new TextEncoder().encode('1,2,3\n4,5,6\n')), {
      ok: false,
      error: 'barcodes.tsv: 4 labels (one per line), but the matrix has 2 rows and 3 columns',
    });
    // a set id that could name anything else, and a staged file without a set, are refused
    assert.deepEqual(await post('name=a.txt&set=../x&stage=1', new Uint8Array(1)), { ok: false, error: 'a.txt: not a valid upload set id' });
    assert.deepEqual(await post('name=a.txt&stage=1', new Uint8Array(1)), { ok: false, error: 'upload: a staged file needs its set' });
  });

  test('an upload over the size limit is refused with a reason', async () => {
    const small = await startWebServer({
      port: 0,
      ops: service,
      subscribe: (l) => service.subscribe(l),
      openUploadStream: (n, b) => service.openUploadStream(n, b),
      stageUpload: (set, n, b) => service.stageUpload(set, n, b),
      staticDir: dir,
      maxBodyBytes: 1024 * 1024,
    });
    try {
      const r = await http(small.port, '/api/upload?name=huge.csv', { method: 'POST', headers: { [TOKEN_HEADER]: small.token, connection: 'close' }, body: new Uint8Array(1024 * 1024 + 1) });
      assert.deepEqual(decodeWire(new Uint8Array(r.body)), { ok: false, error: 'request too large (over 1 MiB)' });
    } finally {
      await small.close();
    }
  });

  test('GET on the call path is refused', async () => {
    const r = await http(server.port, `/api/call/appInfo?token=${server.token}`);
    assert.equal(r.status, 405);
  });

  test('the event socket needs the token', async () => {
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    assert.equal(refused, 401);
    const opened = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events?token=${server.token}`);
      ws.on('open', () => {
        ws.close();
        resolve(true);
      });
      ws.on('error', () => resolve(false));
    });
    assert.equal(opened, true);
  });
});

test('`nmf-studio serve` prints its address first and stops cleanly on SIGTERM', async () => {
  const child = spawn(process.execPath, [cliBin, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const firstLine = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.on('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
  });
  assert.match(firstLine, /^Listening on http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+$/);
  const url = new URL(firstLine.slice('Listening on '.length));
  const ok = await http(Number(url.port), `/api/call/appInfo`, { method: 'POST', headers: { [TOKEN_HEADER]: url.searchParams.get('token')! }, body: encodeWire([]) });
  assert.equal(ok.status, 200);
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.equal(code, 0);
});
