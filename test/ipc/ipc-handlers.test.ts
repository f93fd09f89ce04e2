import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DesktopOps, ImageSettings, ServiceOps } from '../../src-main/api/contract.js';
import { SERVICE_OPS } from '../../src-main/api/validate.js';
import { buildHandlers, channelOf, DESKTOP_OPS } from '../../src-main/electron/ipc-handlers.js';

const ORIGIN = 'app://studio';
const SENDER = `${ORIGIN}/index.html`;

/** Records what reached the service, so each test can prove a bad call never got there. */
function recorder() {
  const calls: { op: string; args: unknown[] }[] = [];
  const handler = {
    get(_t: object, op: string) {
      return async (...args: unknown[]) => {
        calls.push({ op, args });
        return `called ${op}`;
      };
    },
  };
  return { calls, service: new Proxy({}, handler) as ServiceOps, desktop: new Proxy({}, handler) as DesktopOps };
}

const settings: ImageSettings = {
  solver: 'hals',
  betaLoss: 'frobenius',
  init: 'nndsvda',
  maxIter: 100,
  tol: 1e-4,
  seed: 0,
  alphaW: 0,
  alphaH: 'same',
  l1Ratio: 0,
  backend: 'auto',
  choice: { rank: 8 },
  layout: 'global',
  colorMode: 'ycbcr',
  bits: 12,
  compareJpeg: false,
};

/** For each handler: one valid call, and bad calls it must refuse. */
const CASES: Record<string, { good: unknown[]; bad: unknown[][] }> = {
  appInfo: { good: [], bad: [['extra']] },
  openPath: { good: ['/tmp/a.png'], bad: [[], ['relative.png'], [42], ['/tmp/a\0.png'], [{ path: '/tmp/a.png' }]] },
  openUpload: { good: ['a.png', new Uint8Array([1])], bad: [['../a.png', new Uint8Array([1])], ['a.png', 'bytes'], ['', new Uint8Array(1)]] },
  closeDocument: { good: ['doc1'], bad: [['../../x'], [1], []] },
  compressImage: {
    good: ['doc1', settings],
    bad: [
      ['doc1', { ...settings, solver: 'magic' }],
      ['doc1', { ...settings, choice: { rank: 0 } }],
      ['doc1', { ...settings, choice: { rank: 4, psnr: 30 } }],
      ['doc1', { ...settings, choice: { auto: false } }],
      ['doc1', { ...settings, bits: 9 }],
      ['doc1', { ...settings, layout: 'quadtree' }],
      ['doc1', { ...settings, choice: { maxBytes: 1.5 } }],
      ['doc1', { ...settings, choice: { maxBytes: 10_000, ratio: 20 } }],
      ['doc1', { ...settings, maxIter: -1 }],
      ['doc1', { ...settings, tol: Number.NaN }],
      ['doc1', null],
    ],
  },
  factorizeMatrix: {
    good: ['doc1', { ...settings, rank: 3, top: 20 }],
    bad: [['doc1', { ...settings, rank: 1.5 }], ['doc1', { ...settings, rank: 3, top: 0 }], ['doc1', { ...settings, rank: 3, top: 2.5 }], ['doc1', { ...settings, rank: 3, solver: 'cd', betaLoss: 'kullback-leibler' }], ['doc1']],
  },
  reconstructWith: { good: ['doc1', [0, 2]], bad: [['doc1', 'all'], ['doc1', [-1]], ['doc1', [0.5]]] },
  tileComponents: { good: ['doc1', 0, 12], bad: [['doc1', -1, 0], ['doc1', 0, 1.5], ['doc1', 16, 0], ['doc1', 0]] },
  rankCurve: { good: ['doc1', { ...settings, bits: 'auto' }, [1, 2, 4]], bad: [['doc1', settings, []], ['doc1', settings, [0]], ['doc1', settings, 'all']] },
  cancel: { good: ['job1'], bad: [[{}], ['job 1'], []] },
  exportResult: { good: ['doc1', 'nmfz'], bad: [['doc1', 'exe'], ['doc1', '../W.npy']] },
  startBatch: {
    good: [{ inputs: ['/photos'], outDir: '/out', settings: { ...settings, choice: { auto: true } }, overwrite: false }],
    bad: [
      [{ inputs: [], outDir: '/out', settings, overwrite: false }],
      [{ inputs: ['photos'], outDir: '/out', settings, overwrite: false }],
      [{ inputs: ['/photos'], outDir: 'out', settings, overwrite: false }],
      [{ inputs: ['/photos'], outDir: '/out', settings, overwrite: false, jobs: 0 }],
    ],
  },
  saveResult: { good: ['doc1', 'png'], bad: [['doc1', 'gif'], ['doc1']] },
  pickFiles: { good: [], bad: [['/etc']] },
  pickFolders: { good: [], bad: [['/etc']] },
  pickOutputFolder: { good: [], bad: [[1]] },
  showFolder: { good: ['/tmp'], bad: [['tmp'], [null]] },
};

describe('IPC handlers', () => {
  test('there is exactly one handler per operation, each covered below', () => {
    const { service, desktop } = recorder();
    const handlers = buildHandlers(service, desktop, ORIGIN);
    const ops = [...SERVICE_OPS, ...DESKTOP_OPS];
    assert.deepEqual([...handlers.keys()].sort(), ops.map((o) => channelOf(o)).sort());
    assert.deepEqual(Object.keys(CASES).sort(), [...ops].sort());
  });

  for (const [op, { good, bad }] of Object.entries(CASES)) {
    test(`${op}: accepts a valid call and refuses bad arguments and foreign senders`, async () => {
      const { calls, service, desktop } = recorder();
      const handler = buildHandlers(service, desktop, ORIGIN).get(`nmf:${op}`)!;
      const okAnswer = await handler(SENDER, good);
      assert.deepEqual(okAnswer, { ok: true, value: `called ${op}` });
      assert.equal(calls.length, 1);
      for (const args of bad) {
        const answer = await handler(SENDER, args);
        assert.equal(answer.ok, false, `${op}(${JSON.stringify(args)}) should be refused`);
        assert.match((answer as { error: string }).error, new RegExp(`^${op}: `));
      }
      for (const sender of [undefined, 'https://evil.example/', 'app://studio.evil/x', 'file:///index.html']) {
        const answer = await handler(sender, good);
        assert.deepEqual(answer, { ok: false, error: `${op}: refused: unknown sender` });
      }
      assert.equal(calls.length, 1, 'no refused call may reach the service');
    });
  }
});
