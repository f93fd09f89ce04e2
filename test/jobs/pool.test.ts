import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CancelledError } from '../../src-main/engine/errors.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import { TaskPool } from '../../src-main/jobs/pool.js';

test('the task pool runs tasks on workers, and a shared signal keeps no listener per finished task', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nmf-pool-'));
  const pool = new TaskPool(2);
  try {
    const csv = path.join(dir, 'm.csv');
    await writeFile(csv, '1,2\n3,4\n');
    const controller = new AbortController();
    const results = await Promise.all(Array.from({ length: 12 }, () => pool.run('open-matrix', { path: csv }, { signal: controller.signal })));
    assert.deepEqual(Array.from((results[11]!.V as Matrix).data), [1, 2, 3, 4]);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a task cancelled while queued never runs; a user error crosses the thread boundary as a UserError', async () => {
  const pool = new TaskPool(1);
  try {
    const controller = new AbortController();
    const first = pool.run('open-matrix', { path: '/nonexistent/a.csv' });
    const queued = pool.run('open-matrix', { path: '/nonexistent/b.csv' }, { signal: controller.signal });
    controller.abort();
    await assert.rejects(queued, CancelledError);
    await assert.rejects(first, (err: Error) => err.name === 'UserError' && /a\.csv/.test(err.message));
  } finally {
    await pool.close();
  }
});
