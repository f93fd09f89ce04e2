import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CancelledError, UserError } from '../../src-main/engine/errors.js';
import { cleanupTemporaries, temporaryPathFor, writeFileAtomic } from '../../src-main/formats/atomic.js';
import { tempDir, userErrorAsync } from './helpers.js';

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'atomic-child.js');
const temporaries = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

test('writes bytes, strings and (async) iterables in full, leaving no temporary', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await writeFileAtomic(path.join(dir, 'a.bin'), new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path.join(dir, 'b.txt'), 'héllo');
    await writeFileAtomic(path.join(dir, 'c.txt'), ['x', new TextEncoder().encode('y'), 'z']);
    async function* pieces() {
      for (let k = 0; k < 100; k++) yield `${k}\n`;
    }
    await writeFileAtomic(path.join(dir, 'd.txt'), pieces());
    assert.deepEqual([...readFileSync(path.join(dir, 'a.bin'))], [1, 2, 3]);
    assert.equal(readFileSync(path.join(dir, 'b.txt'), 'utf8'), 'héllo');
    assert.equal(readFileSync(path.join(dir, 'c.txt'), 'utf8'), 'xyz');
    assert.equal(readFileSync(path.join(dir, 'd.txt'), 'utf8').split('\n').length, 101);
    assert.deepEqual(temporaries(dir), []);
  } finally {
    cleanup();
  }
});

test('an existing file is refused without overwrite and left untouched', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const target = path.join(dir, 'out.npy');
    writeFileSync(target, 'original');
    const err = await userErrorAsync(() => writeFileAtomic(target, 'new'));
    assert.equal(err.message, `${target} already exists; pass --overwrite to replace it`);
    assert.equal(readFileSync(target, 'utf8'), 'original');
    assert.deepEqual(temporaries(dir), []);
  } finally {
    cleanup();
  }
});

test('overwrite replaces the file and keeps its permissions', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const target = path.join(dir, 'out.csv');
    writeFileSync(target, 'old');
    if (process.platform !== 'win32') chmodSync(target, 0o640);
    await writeFileAtomic(target, 'new contents', { overwrite: true });
    assert.equal(readFileSync(target, 'utf8'), 'new contents');
    if (process.platform !== 'win32') assert.equal(statSync(target).mode & 0o777, 0o640);
    assert.deepEqual(temporaries(dir), []);
  } finally {
    cleanup();
  }
});

test('writers racing for one name: exactly one wins, the others are refused, no temporaries remain', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const target = path.join(dir, 'race.txt');
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, k) => writeFileAtomic(target, `writer ${k}`.repeat(1000))));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.match((r.reason as Error).message, /already exists/);
    }
    assert.match(readFileSync(target, 'utf8'), /^(writer \d)+$/);
    assert.deepEqual(temporaries(dir), []);
  } finally {
    cleanup();
  }
});

test('a failure while writing removes the temporary and leaves no target', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const target = path.join(dir, 'broken.csv');
    function* failing() {
      yield 'partial,';
      throw new Error('source failed');
    }
    await assert.rejects(writeFileAtomic(target, failing()), /source failed/);
    assert.equal(existsSync(target), false);
    assert.deepEqual(temporaries(dir), []);
    // and an existing file stays as it was even with overwrite
    writeFileSync(target, 'keep me');
    await assert.rejects(writeFileAtomic(target, failing(), { overwrite: true }), /source failed/);
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
    assert.deepEqual(temporaries(dir), []);
  } finally {
    cleanup();
  }
});

test('cancellation stops the write and removes the temporary', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const controller = new AbortController();
    function* pieces() {
      yield 'a';
      controller.abort();
      yield 'b';
    }
    await assert.rejects(writeFileAtomic(path.join(dir, 'c.txt'), pieces(), { signal: controller.signal }), CancelledError);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    cleanup();
  }
});

test('unwritable places are clear user errors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const missing = path.join(dir, 'no-such-folder', 'x.npy');
    const err = await userErrorAsync(() => writeFileAtomic(missing, 'x'));
    assert.ok(err instanceof UserError);
    assert.match(err.message, /^cannot write .*x\.npy: folder .*no-such-folder: no such file or folder$/);
    mkdirSync(path.join(dir, 'sub'));
    const folder = await userErrorAsync(() => writeFileAtomic(path.join(dir, 'sub'), 'x', { overwrite: true }));
    assert.match(folder.message, /sub: it is a folder$/);
    assert.deepEqual(temporaries(dir), []);
  } finally {
    cleanup();
  }
});

test('without hard links (FAT, some network shares) the name is reserved exclusively instead', async () => {
  const { dir, cleanup } = tempDir();
  const link = fsp.link;
  let calls = 0;
  fsp.link = async () => {
    calls++;
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM', syscall: 'link' });
  };
  syncBuiltinESMExports();
  try {
    const target = path.join(dir, 'fat.npy');
    await writeFileAtomic(target, 'first');
    assert.equal(readFileSync(target, 'utf8'), 'first');
    const err = await userErrorAsync(() => writeFileAtomic(target, 'second'));
    assert.match(err.message, /already exists; pass --overwrite/);
    assert.equal(readFileSync(target, 'utf8'), 'first');
    assert.ok(calls >= 1, 'link was tried first');
    assert.deepEqual(temporaries(dir), []);
  } finally {
    fsp.link = link;
    syncBuiltinESMExports();
    cleanup();
  }
});

test('temporaries sit beside the target as .name.<random>.tmp', () => {
  const t = temporaryPathFor(path.join('out', 'W.npy'));
  assert.equal(path.dirname(t), 'out');
  assert.match(path.basename(t), /^\.W\.npy\.[0-9a-f]{12}\.tmp$/);
  assert.notEqual(temporaryPathFor('W.npy'), temporaryPathFor('W.npy'));
});

test('cleanupTemporaries removes a temporary in flight; that write then fails as cancelled', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const target = path.join(dir, 'slow.txt');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const firstWritten = new Promise<void>((resolve) => (started = resolve));
    async function* slow() {
      yield 'first';
      started();
      await gate;
      yield 'second';
    }
    const writing = writeFileAtomic(target, slow());
    await firstWritten;
    assert.equal(temporaries(dir).length, 1);
    assert.equal(cleanupTemporaries(), 1);
    assert.deepEqual(temporaries(dir), []);
    release();
    await assert.rejects(writing, CancelledError);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    cleanup();
  }
});

function runChild(target: string, mode: 'signal' | 'exit', signal?: NodeJS.Signals): Promise<{ code: number | null; sawTemporary: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, target, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let sawTemporary = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('writing')) return;
      sawTemporary = temporaries(path.dirname(target)).length === 1;
      if (signal) child.kill(signal);
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, sawTemporary }));
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`a process interrupted by ${signal} mid-write leaves no temporary and no target`, { skip: process.platform === 'win32' }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const target = path.join(dir, 'W.npy');
      const { code, sawTemporary } = await runChild(target, 'signal', signal);
      assert.ok(sawTemporary, 'the temporary existed while writing');
      assert.equal(code, 130);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      cleanup();
    }
  });
}

test('process.exit() in the middle of a write still removes the temporary', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const { code, sawTemporary } = await runChild(path.join(dir, 'H.csv'), 'exit');
    assert.ok(sawTemporary);
    assert.equal(code, 3);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    cleanup();
  }
});
