import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWire, encodeWire } from '../../src-main/api/wire.js';

test('wire round-trips nested typed arrays of several kinds, unaligned lengths included', () => {
  const value = {
    name: 'x',
    n: [1, 2.5, null],
    raster: { width: 3, height: 1, rgba: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) },
    odd: new Uint8Array([7, 8, 9]),
    m: { data: new Float32Array([0.5, -1, Math.PI]) },
    d: new Float64Array([1e-300, 2]),
    list: [new Uint16Array([65535]), { deep: new Int32Array([-5]) }],
  };
  const back = decodeWire<typeof value>(encodeWire(value));
  assert.deepEqual(back, value);
  assert.ok(back.m.data instanceof Float32Array);
  assert.ok(back.d instanceof Float64Array);
});

test('wire refuses truncated messages', () => {
  const bytes = encodeWire({ a: new Float64Array(10) });
  assert.throws(() => decodeWire(bytes.subarray(0, bytes.length - 16)), /truncated/);
  assert.throws(() => decodeWire(new Uint8Array([255, 255, 0, 0, 1])), /truncated/);
});
