// Shared by the matrix-file tests: temporary folders, hand-built .npy bytes, and checks on user errors.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../src-main/engine/errors.js';

/** A fresh folder under the system temp dir, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nmf-formats-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs fn and returns the UserError it throws (failing the test if it throws anything else or nothing). */
export function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.equal(err.kind, 'input');
    assert.ok(!err.message.includes('\n'), `message should be one line: ${err.message}`);
    return err;
  }
  assert.fail('expected a UserError, nothing was thrown');
}

export async function userErrorAsync(fn: () => Promise<unknown>): Promise<UserError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `message should be one line: ${err.message}`);
    return err;
  }
  assert.fail('expected a UserError, nothing was thrown');
}

/** Asserts the message contains every part, in order. */
export function assertMessage(err: Error, ...parts: string[]): void {
  let from = 0;
  for (const part of parts) {
    const at = err.message.indexOf(part, from);
    assert.ok(at >= 0, `expected ${JSON.stringify(part)} in: ${err.message}`);
    from = at + part.length;
  }
}

export interface NpySpec {
  descr: string;
  shape: number[];
  fortran?: boolean;
  /** [major, minor]; default [1, 0]. */
  version?: [number, number];
  /** The array's elements in file order. */
  data: Uint8Array;
}

/**
 * .npy bytes laid out as numpy.save does (magic, version, header length, dict header padded to 64 bytes,
 * data), written here independently of the encoder under test.
 */
export function npyBytes(spec: NpySpec): Uint8Array {
  const [major, minor] = spec.version ?? [1, 0];
  const shape = spec.shape.length === 1 ? `(${spec.shape[0]},)` : `(${spec.shape.join(', ')})`;
  const dict = `{'descr': '${spec.descr}', 'fortran_order': ${spec.fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const prefix = major === 1 ? 10 : 12;
  const headerBytes = new TextEncoder().encode(dict);
  const total = Math.ceil((prefix + headerBytes.length + 1) / 64) * 64;
  const headerLength = total - prefix;
  const out = new Uint8Array(total + spec.data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, minor]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  out.set(headerBytes, prefix);
  out.fill(0x20, prefix + headerBytes.length, total - 1);
  out[total - 1] = 0x0a;
  out.set(spec.data, total);
  return out;
}

/** Element bytes for numbers with a DataView setter, in the given byte order. */
export function elements(values: number[], size: number, set: (v: DataView, offset: number, value: number, littleEndian: boolean) => void, littleEndian = true): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((v, k) => set(view, k * size, v, littleEndian));
  return out;
}

/** A small deterministic generator (mulberry32) so that randomized tests repeat exactly. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
