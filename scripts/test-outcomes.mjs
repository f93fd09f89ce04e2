// A node:test reporter for `npm test`: one JSON line per finished test, for the closing counts and the list of
// what was skipped and why. Suites are not counted (their tests are), except a suite that is itself skipped or
// fails outside its tests (a hook, a file that does not load).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** dist/test/a/b.test.js → test/a/b.test.ts: the file people edit. */
function sourceFile(file) {
  const rel = path.relative(root, file);
  const compiled = /^dist\/(test\/.*)\.js$/.exec(rel.split(path.sep).join('/'));
  return compiled ? `${compiled[1]}.ts` : rel;
}

export default async function* outcomes(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, skip, todo, details } = event.data;
    const suite = details?.type === 'suite';
    let status;
    if (event.type === 'test:fail') {
      // a suite whose only fault is a failing test inside it: that test is counted
      if (suite && details?.error?.failureType === 'subtestsFailed') continue;
      status = 'failed';
    } else if (skip !== undefined || todo !== undefined) {
      status = 'skipped';
    } else if (suite) {
      continue;
    } else {
      status = 'passed';
    }
    const reason = status === 'skipped' ? (typeof skip === 'string' ? skip : typeof todo === 'string' ? `to do: ${todo}` : 'no reason given') : undefined;
    yield `${JSON.stringify({ status, name, file: file ? sourceFile(file) : undefined, suite, reason })}\n`;
  }
}
