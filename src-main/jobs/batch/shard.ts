// Splitting a batch into N deterministic parts (--shard I/N) so that many machines share one output folder.
//
// A file's part comes from a hash of where its output goes, relative to the output folder, so it does not
// depend on the order folders are listed in, on where a machine mounts the input, or on which other files
// exist; and every input whose output lands on the same name falls in the same part (only one writer per name).

import { createHash } from 'node:crypto';
import { UserError } from '../../engine/errors.js';

export interface Shard {
  /** 0-based, as Kubernetes' JOB_COMPLETION_INDEX. */
  index: number;
  count: number;
}

/** Parses 'I/N' (0 ≤ I < N); a usage error otherwise. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UserError(`--shard: '${text}' is not of the form I/N (for example 0/8)`, 'usage');
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new UserError(`--shard: ${text} has no parts (N must be at least 1)`, 'usage');
  if (count > 1_000_000) throw new UserError(`--shard: ${text} has too many parts (at most 1000000)`, 'usage');
  if (index >= count) {
    throw new UserError(`--shard: ${text}: the index counts from 0, so it must be below ${count} (0/${count} … ${count - 1}/${count})`, 'usage');
  }
  return { index, count };
}

/**
 * The key a file is sharded by: its output path relative to the output folder without the extension,
 * with '/' separators and Unicode in NFC (macOS lists names decomposed, Linux as written).
 */
export function shardKey(outputStem: string): string {
  return outputStem.replaceAll('\\', '/').normalize('NFC');
}

/** Which of `count` parts a key belongs to: the first 48 bits of its SHA-256, modulo count. */
export function shardOf(key: string, count: number): number {
  if (count <= 1) return 0;
  const digest = createHash('sha256').update(key, 'utf8').digest();
  return digest.readUIntBE(0, 6) % count;
}

export function inShard(key: string, shard: Shard | undefined): boolean {
  return !shard || shardOf(key, shard.count) === shard.index;
}

/** 'report' or 'report-2-of-8': the base name of a run's reports, so shards sharing a folder never collide. */
export function reportBaseName(shard: Shard | undefined): string {
  return shard && shard.count > 1 ? `report-${shard.index}-of-${shard.count}` : 'report';
}
