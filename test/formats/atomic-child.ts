// Child process for the interrupted-write tests: starts an atomic write that stalls after its first piece.
import { cleanupTemporaries, writeFileAtomic } from '../../src-main/formats/atomic.js';

const [target, mode] = process.argv.slice(2) as [string, 'signal' | 'exit'];

if (mode === 'signal') {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      cleanupTemporaries();
      process.exit(130);
    });
  }
}

async function* stalling(): AsyncGenerator<string> {
  yield 'the first piece is on disk\n';
  // Asked for the next piece: the first one has been written to the temporary file.
  process.stdout.write('writing\n');
  if (mode === 'exit') setTimeout(() => process.exit(3), 20);
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  yield 'never written\n';
}

await writeFileAtomic(target, stalling());
