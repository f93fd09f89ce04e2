// --shard I/N: parsing, determinism, independence from listing order, and an even spread.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src-main/engine/errors.js';
import { inShard, parseShard, reportBaseName, shardKey, shardOf } from '../../src-main/jobs/batch/shard.js';

describe('shards', () => {
  it('parses I/N with I counted from 0 and refuses everything else as usage', () => {
    assert.deepEqual(parseShard('0/8'), { index: 0, count: 8 });
    assert.deepEqual(parseShard(' 7 / 8 '), { index: 7, count: 8 });
    for (const bad of ['8/8', '1/0', 'a/b', '3', '-1/4', '1/2/3', '']) {
      assert.throws(() => parseShard(bad), (e: unknown) => e instanceof UserError && e.kind === 'usage', bad);
    }
  });

  it('every key falls in exactly one part, the same on every call, spread evenly', () => {
    const keys = Array.from({ length: 4000 }, (_, i) => `trip ${i % 17}/IMG_${String(i).padStart(4, '0')}`);
    const n = 8;
    const sizes = new Array<number>(n).fill(0);
    for (const k of keys) {
      const owners = Array.from({ length: n }, (_, i) => i).filter((i) => inShard(k, { index: i, count: n }));
      assert.equal(owners.length, 1, k);
      assert.equal(owners[0], shardOf(k, n));
      sizes[owners[0]!]!++;
    }
    for (const s of sizes) assert.ok(s > 400 && s < 600, `uneven parts: ${sizes.join(', ')}`);
  });

  it('a key is independent of separators and Unicode normalisation', () => {
    const nfd = 'e\u0301te\u0301/plage';
    const nfc = 'été/plage';
    assert.equal(shardOf(shardKey(nfd), 13), shardOf(shardKey(nfc), 13));
    assert.equal(shardKey('a\\b\\c'), 'a/b/c');
  });

  it('names reports per part', () => {
    assert.equal(reportBaseName(undefined), 'report');
    assert.equal(reportBaseName({ index: 0, count: 1 }), 'report');
    assert.equal(reportBaseName({ index: 2, count: 8 }), 'report-2-of-8');
  });
});
