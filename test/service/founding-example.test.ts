// The app's path for the founding example: a text matrix opened as a document and factorized with the
// settings of `NMF(n_components=5, init='random', random_state=0)` gives scikit-learn's result.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { MatrixResult, MatrixSettings, ServiceEvent } from '../../src-main/api/contract.js';
import { parseMatrix } from '../../src-main/formats/index.js';
import { denseOf } from '../../src-main/engine/sparse.js';
import { createAppService, type AppService } from '../../src-main/service/session.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';
import { relDiff } from '../engine/support.js';

const founding = (JSON.parse(await readFile(fixture('random-state', 'manifest.json'), 'utf8')) as { cases: { name: string; n_iter: number; rel_err: number }[] }).cases.find(
  (c) => c.name === 'founding',
)!;

/** scikit-learn's NMF defaults with init='random', random_state=0, as the app's controls would set them. */
const settings: MatrixSettings = {
  rank: 5,
  solver: 'cd',
  betaLoss: 'frobenius',
  init: 'random',
  maxIter: 200,
  tol: 1e-4,
  seed: 0,
  alphaW: 0,
  alphaH: 'same',
  l1Ratio: 0,
  backend: 'auto',
};

let service: AppService;
let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nmf-founding-app-'));
  service = createAppService({ shell: 'web', startupFiles: [], workers: 1 });
});
after(async () => {
  await service.close();
  await rm(dir, { recursive: true, force: true });
});

test('image.txt opens as a matrix and the seed field gives scikit-learn’s random_state=0 fit', async () => {
  const file = path.join(dir, 'image.txt');
  await copyFile(fixture('random-state', 'founding', 'image.txt'), file);
  const info = await service.openPath(file);
  assert.equal(info.kind, 'matrix');
  const done = new Promise<Extract<ServiceEvent, { type: 'job-done' }>>((resolve, reject) => {
    const off = service.subscribe((e) => {
      if (e.type === 'job-done') {
        off();
        resolve(e);
      } else if (e.type === 'job-failed') {
        off();
        reject(new Error(e.error));
      }
    });
  });
  await service.factorizeMatrix(info.documentId, settings);
  const r = (await done).result as MatrixResult;
  assert.equal(r.iterations, founding.n_iter);
  assert.equal(r.backend, 'reference');
  assert.ok(Math.abs(r.relErr / founding.rel_err - 1) <= 1e-9, `relErr ${r.relErr} vs ${founding.rel_err}`);
  const saved = await service.exportResult(info.documentId, 'W.npy');
  const W = denseOf((await parseMatrix(saved.bytes, saved.name)).matrix);
  const dW = relDiff(W, readNpy(fixture('random-state', 'founding', 'W.npy')));
  assert.ok(dW <= 1e-6, `W differs by ${dW}`);
});
