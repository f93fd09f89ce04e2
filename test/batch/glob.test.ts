// --include/--exclude globs: each construct, the name-only rule, folder pruning and malformed patterns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src-main/engine/errors.js';
import { compileGlob, globMatches, PathFilter } from '../../src-main/jobs/batch/glob.js';

function matches(pattern: string, rel: string): boolean {
  return globMatches(compileGlob(pattern), rel);
}

describe('globs', () => {
  it('* stays within a name; a pattern without / matches the name at any depth', () => {
    assert.ok(matches('*.jpg', 'a.jpg'));
    assert.ok(matches('*.jpg', 'trips/2023/a.jpg'));
    assert.ok(!matches('*.jpg', 'a.jpeg'));
    assert.ok(!matches('*.jpg', 'a.jpg.png'));
    assert.ok(matches('IMG_*', 'x/IMG_0001.JPG'));
  });

  it('a pattern with / matches the whole relative path; * does not cross folders', () => {
    assert.ok(matches('trips/*.jpg', 'trips/a.jpg'));
    assert.ok(!matches('trips/*.jpg', 'trips/2023/a.jpg'));
    assert.ok(!matches('trips/*.jpg', 'old/trips/a.jpg'));
    assert.ok(matches('/trips/*.jpg', 'trips/a.jpg'));
    assert.ok(matches('./trips/*.jpg', 'trips/a.jpg'));
  });

  it('** matches any number of folders, including none', () => {
    assert.ok(matches('**/*.png', 'a.png'));
    assert.ok(matches('**/*.png', 'x/y/z/a.png'));
    assert.ok(matches('trips/**/*.png', 'trips/a.png'));
    assert.ok(matches('trips/**/*.png', 'trips/2023/june/a.png'));
    assert.ok(!matches('trips/**/*.png', 'other/a.png'));
    assert.ok(matches('raw/**', 'raw'));
    assert.ok(matches('raw/**', 'raw/a/b.tif'));
    assert.ok(!matches('raw/**', 'rawer/a.tif'));
    assert.ok(matches('**', 'any/thing.png'));
    // Inside a name, ** is just *.
    assert.ok(matches('a**b.png', 'axxb.png'));
    assert.ok(!matches('x/a**b.png', 'x/a/b.png'));
  });

  it('? is one character other than /', () => {
    assert.ok(matches('img?.png', 'img1.png'));
    assert.ok(!matches('img?.png', 'img10.png'));
    assert.ok(!matches('a?b', 'a/b'));
  });

  it('[..] classes, ranges and negation', () => {
    assert.ok(matches('img[0-9].png', 'img7.png'));
    assert.ok(!matches('img[0-9].png', 'imgx.png'));
    assert.ok(matches('img[!0-9].png', 'imgx.png'));
    assert.ok(matches('img[^0-9].png', 'imgx.png'));
    assert.ok(!matches('img[!0-9].png', 'img3.png'));
    assert.ok(matches('[]x].png', '].png'));
    assert.ok(matches('a[-_]b.png', 'a-b.png') && matches('a[-_]b.png', 'a_b.png'));
    // An unclosed '[' is literal.
    assert.ok(matches('a[b.png', 'a[b.png'));
    assert.throws(() => compileGlob('[z-a].png'), UserError);
  });

  it('{a,b} alternatives, nested and holding globs', () => {
    assert.ok(matches('*.{jpg,jpeg}', 'a.jpeg'));
    assert.ok(matches('*.{jpg,jpeg}', 'a.JPG'));
    assert.ok(!matches('*.{jpg,jpeg}', 'a.png'));
    assert.ok(matches('{trips,work}/**/*.png', 'work/x/a.png'));
    assert.ok(matches('a.{p{ng,bm},gif}', 'a.pbm'));
    assert.ok(matches('a{}.png', 'a{}.png'), 'braces with nothing to choose from are literal');
    assert.throws(() => compileGlob('*.{jpg,png'), UserError);
  });

  it('escapes, regex characters and non-ASCII names are literal', () => {
    assert.ok(matches('a+b (1).png', 'a+b (1).png'));
    assert.ok(!matches('a.png', 'axpng'));
    assert.ok(matches('\\*.png', '*.png'));
    assert.ok(!matches('\\*.png', 'x.png'));
    assert.ok(matches('été/*.jpg', 'été/plage.jpg'));
    assert.ok(matches('ÉTÉ/*.jpg', 'été/plage.jpg'));
    assert.ok(matches('日本/*', '日本/写真.png'));
  });

  it('empty patterns are usage errors', () => {
    assert.throws(() => compileGlob(''), (e: unknown) => e instanceof UserError && e.kind === 'usage');
  });
});

describe('PathFilter', () => {
  it('takes files matching some include and no exclude', () => {
    const f = new PathFilter(['*.png', 'keep/**'], ['*draft*']);
    assert.ok(f.acceptsFile('a.png'));
    assert.ok(f.acceptsFile('x/y.png'));
    assert.ok(f.acceptsFile('keep/b.jpg'));
    assert.ok(!f.acceptsFile('b.jpg'));
    assert.ok(!f.acceptsFile('x/draft-1.png'));
  });

  it('without includes takes everything not excluded', () => {
    const f = new PathFilter([], ['raw/']);
    assert.ok(f.acceptsFile('a.jpg'));
    assert.ok(!f.entersFolder('raw'));
    assert.ok(f.entersFolder('raws'));
    assert.ok(f.entersFolder('x/raw'), 'raw/ with a slash is anchored at the input folder');
    const byName = new PathFilter([], ['raw']);
    assert.ok(!byName.entersFolder('x/raw'), 'a name-only exclude prunes that folder name anywhere');
  });
});
