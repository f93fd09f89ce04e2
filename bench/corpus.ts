// A real term–document matrix, built at bench time from the text every Debian system carries: the licence texts
// in /usr/share/common-licenses and the packages' copyright files, cut into paragraphs. Weighted as scikit-learn's
// TfidfVectorizer does by default (raw counts × smooth idf, each document scaled to unit length), then written
// as a coordinate .mtx with one term per line in a terms file, so that the bench reads it as a user's file.

import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const STOP = new Set(
  ('the and for that this with are not you any all from may have has but such can its will use who which under other ' +
    'without been were was their they them these those than then there when where what your our out into also more ' +
    'each only one two shall must does this that upon same both either does done being over any some how why very ' +
    'his her him she would could should about after before between because while during through against within ' +
    'include includes including including whether whom whose itself here'.trim()).split(/\s+/),
);

function texts(): string[] {
  const files: string[] = [];
  const licences = '/usr/share/common-licenses';
  if (existsSync(licences)) for (const f of readdirSync(licences)) files.push(path.join(licences, f));
  const doc = '/usr/share/doc';
  if (existsSync(doc)) for (const p of readdirSync(doc)) files.push(path.join(doc, p, 'copyright'));
  const out: string[] = [];
  for (const f of files) {
    try {
      if (!statSync(f).isFile()) continue;
      out.push(readFileSync(f, 'utf8'));
    } catch {
      // a package without a copyright file, or a link to nowhere
    }
  }
  return out;
}

export interface Corpus {
  documents: number;
  terms: number;
  nnz: number;
  sources: number;
}

export async function writeCorpus(mtxPath: string, termsPath: string): Promise<Corpus> {
  const sources = texts();
  const seen = new Set<string>();
  const docs: Map<string, number>[] = [];
  for (const text of sources) {
    for (const paragraph of text.split(/\n\s*\n/)) {
      const key = paragraph.replace(/\s+/g, ' ').trim();
      if (seen.has(key)) continue;
      seen.add(key);
      const counts = new Map<string, number>();
      let n = 0;
      for (const m of key.toLowerCase().matchAll(/[a-z][a-z]{2,}/g)) {
        const w = m[0];
        if (STOP.has(w)) continue;
        counts.set(w, (counts.get(w) ?? 0) + 1);
        n++;
      }
      if (n >= 8) docs.push(counts);
    }
  }
  const df = new Map<string, number>();
  for (const d of docs) for (const w of d.keys()) df.set(w, (df.get(w) ?? 0) + 1);
  const N = docs.length;
  // Terms in at least 5 paragraphs and at most half of them (TfidfVectorizer's min_df / max_df).
  const vocabulary = [...df].filter(([, n]) => n >= 5 && n <= N / 2).map(([w]) => w).sort();
  const column = new Map(vocabulary.map((w, j) => [w, j]));
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    const entries: [number, number][] = [];
    for (const [w, c] of docs[i]!) {
      const j = column.get(w);
      if (j === undefined) continue;
      entries.push([j, c * (Math.log((1 + N) / (1 + df.get(w)!)) + 1)]);
    }
    const norm = Math.sqrt(entries.reduce((s, [, x]) => s + x * x, 0));
    for (const [j, x] of entries.sort((a, b) => a[0] - b[0])) lines.push(`${i + 1} ${j + 1} ${(x / norm).toPrecision(6)}`);
  }
  const out = createWriteStream(mtxPath);
  out.write(`%%MatrixMarket matrix coordinate real general\n% paragraphs × terms, tf-idf, from ${sources.length} files on this machine\n`);
  out.write(`${N} ${vocabulary.length} ${lines.length}\n`);
  for (let at = 0; at < lines.length; at += 10000) out.write(lines.slice(at, at + 10000).join('\n') + '\n');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const terms = createWriteStream(termsPath);
  terms.end(vocabulary.join('\n') + '\n');
  await new Promise<void>((resolve) => terms.on('finish', () => resolve()));
  return { documents: N, terms: vocabulary.length, nnz: lines.length, sources: sources.length };
}
