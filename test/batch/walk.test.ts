// The input walk: order, mirroring, hidden names, extensions, filters, link loops, broken links, the output folder.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../src-main/engine/errors.js';
import { PathFilter } from '../../src-main/jobs/batch/glob.js';
import { planRoots, walkInputs, type WalkEntry } from '../../src-main/jobs/batch/walk.js';
import { permissionCheckSkip, withoutRoot } from '../helpers/unprivileged.js';

async function collect(inputs: string[], options: { include?: string[]; exclude?: string[]; outDir?: string } = {}): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  for await (const e of walkInputs(inputs, { filter: new PathFilter(options.include, options.exclude), outDir: options.outDir })) out.push(e);
  return out;
}

describe('walkInputs', () => {
  let root: string;
  let tree: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'nmf-walk-'));
    tree = path.join(root, 'photos');
    const files: Record<string, string> = {
      'b.png': 'x',
      'a b.JPG': 'xx',
      'notes.txt': 'not an image',
      '.hidden.png': 'x',
      'été/plage.jpeg': 'xxx',
      'été/日本 写真.webp': 'x',
      'sub/deeper/c.tif': 'x',
      'sub/deeper/d.gif': 'x',
      'sub/raw/e.png': 'x',
      '.cache/f.png': 'x',
    };
    for (const [rel, body] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(tree, rel)), { recursive: true });
      await writeFile(path.join(tree, rel), body);
    }
    await symlink('..', path.join(tree, 'sub', 'loop'));
    await symlink('missing.png', path.join(tree, 'gone.png'));
    await symlink('sub/deeper', path.join(tree, 'zz-link-to-deeper'));
    await mkdir(path.join(tree, 'out'), { recursive: true });
    await writeFile(path.join(tree, 'out', 'old.preview.png'), 'x');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lists images depth-first in code-point order, mirrors paths, reports loops and broken links', async () => {
    const entries = await collect([tree], { outDir: path.join(tree, 'out') });
    const view = entries.map((e) => (e.kind === 'file' ? `file ${e.rel}` : `${e.status} ${e.rel}: ${e.reason}`));
    assert.deepEqual(view.map((v) => v.split(':')[0]), [
      'file a b.JPG',
      'file b.png',
      'error gone.png',
      'file sub/deeper/c.tif',
      'file sub/deeper/d.gif',
      'skipped sub/loop',
      'file sub/raw/e.png',
      'skipped zz-link-to-deeper',
      'file été/plage.jpeg',
      'file été/日本 写真.webp',
    ]);
    const loop = entries.find((e) => e.rel === 'sub/loop');
    assert.match(loop!.kind === 'problem' ? loop!.reason : '', /loop/);
    const gone = entries.find((e) => e.rel === 'gone.png');
    assert.match(gone!.kind === 'problem' ? gone!.reason : '', /broken symbolic link/);
    const file = entries.find((e) => e.rel === 'été/plage.jpeg');
    assert.ok(file && file.kind === 'file');
    assert.equal(file.stem, 'été/plage');
    assert.equal(file.size, 3);
    assert.equal(file.path, path.join(tree, 'été', 'plage.jpeg'));
    assert.equal(file.explicit, false);
  });

  it('applies --include and --exclude to paths relative to the input folder', async () => {
    const only = await collect([tree], { include: ['*.png', 'sub/**/*.tif'], exclude: ['raw/'], outDir: path.join(tree, 'out') });
    assert.deepEqual(
      only.filter((e) => e.kind === 'file').map((e) => e.rel),
      ['b.png', 'sub/deeper/c.tif', 'sub/raw/e.png'],
      "'raw/' is anchored at the input folder, so sub/raw stays",
    );
    const pruned = await collect([tree], { exclude: ['raw', 'été'] });
    assert.ok(!pruned.some((e) => e.rel.startsWith('sub/raw') || e.rel.startsWith('été')));
  });

  it('takes explicit files whatever their extension, and reports missing inputs', async () => {
    const entries = await collect([path.join(tree, 'notes.txt'), path.join(root, 'nope.png')]);
    assert.equal(entries.length, 2);
    assert.equal(entries[0]!.kind, 'file');
    assert.equal(entries[0]!.rel, 'notes.txt');
    assert.equal(entries[0]!.kind === 'file' && entries[0]!.explicit, true);
    assert.equal(entries[1]!.kind, 'problem');
    assert.match(entries[1]!.kind === 'problem' ? entries[1]!.reason : '', /no such file/);
  });

  it('mirrors several folders under their names and refuses two folders of the same name', async () => {
    const a = path.join(root, 'one', 'pics');
    const b = path.join(root, 'two', 'pics');
    const c = path.join(root, 'three', 'more');
    for (const d of [a, b, c]) {
      await mkdir(d, { recursive: true });
      await writeFile(path.join(d, 'x.png'), 'x');
    }
    const entries = await collect([a, c]);
    assert.deepEqual(entries.map((e) => e.rel), ['pics/x.png', 'more/x.png']);
    await assert.rejects(planRoots([a, b]), (e: unknown) => e instanceof UserError && e.kind === 'usage' && /pics/.test(e.message));
    assert.deepEqual([...(await planRoots([a])).values()], ['']);
  });

  it('reports an unreadable folder and goes on', { skip: permissionCheckSkip() }, async () => {
    const locked = path.join(root, 'locked-tree');
    await mkdir(path.join(locked, 'closed'), { recursive: true });
    await writeFile(path.join(locked, 'closed', 'a.png'), 'x');
    await writeFile(path.join(locked, 'z.png'), 'x');
    await chmod(path.join(locked, 'closed'), 0o000);
    try {
      const entries = await withoutRoot(() => collect([locked]), [root]);
      assert.equal(entries[0]!.kind, 'problem');
      assert.match(entries[0]!.kind === 'problem' ? entries[0]!.reason : '', /permission denied/);
      assert.equal(entries[1]!.rel, 'z.png');
    } finally {
      await chmod(path.join(locked, 'closed'), 0o755);
    }
  });
});
