// Which backend a fit runs on: 'auto' keeps small float64 matrices in float64 (scikit-learn's numbers).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { allocate, type Matrix } from '../../src-main/engine/matrix.js';
import { disposeBackends, SMALL_FLOAT64_WORK, withBackend } from '../../src-main/jobs/backends.js';

after(disposeBackends);

const ran = async (request: 'auto' | 'cpu', V: Matrix, rank: number) => (await withBackend(request, async (b) => b.dtypes, { V, rank })).backend;

test("'auto' runs a small float64 matrix on the float64 reference backend and says why", async () => {
  const V = allocate(64, 64, 'float64');
  const { backend, backendReason, result } = await withBackend('auto', async (b) => b.dtypes, { V, rank: 5 });
  assert.equal(backend, 'reference');
  assert.ok(result.includes('float64'));
  assert.match(backendReason, /small float64 matrix \(64×64, rank 5\) runs in float64/);
});

test("only 'auto', only float64 and only up to the size limit", async () => {
  const limit = Math.floor(SMALL_FLOAT64_WORK / 64);
  assert.equal(await ran('auto', allocate(limit, 64, 'float64'), 1), 'reference');
  // One row more, a float32 matrix, or a named backend: the choice 'auto' or the name makes.
  const usual = (await withBackend('auto', async () => undefined)).backend;
  assert.equal(await ran('auto', allocate(limit + 1, 64, 'float64'), 1), usual);
  assert.equal(await ran('auto', allocate(64, 64, 'float32'), 5), usual);
  assert.equal(await ran('cpu', allocate(64, 64, 'float64'), 5), 'cpu');
});
