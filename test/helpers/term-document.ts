// A small term–document count table with three topics (sport, politics, food), and the top-k rule to check components against.

export const TERMS = ['goal', 'match', 'league', 'striker', 'vote', 'senate', 'ballot', 'party', 'flour', 'sugar', 'recipe', 'oven', 'NA', '2020'];
export const DOCS = ['sport-1', 'sport-2', 'sport-3', 'politics-1', 'politics-2', 'politics-3', 'food-1', 'food-2'];
const TOPIC_OF_TERM = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1];
const TOPIC_OF_DOC = [0, 0, 0, 1, 1, 1, 2, 2];

/**
 * Terms in the first column (some of them, "NA" and "2020", read as a missing value and a number), documents
 * in the header. Each term is strong in its topic's documents with distinct counts, so no two weights tie,
 * and has a little of some others.
 */
export function termDocumentCsv(): string {
  const lines = ['term,' + DOCS.join(',')];
  TERMS.forEach((term, i) => {
    const cells = DOCS.map((_, j) => (TOPIC_OF_TERM[i] === TOPIC_OF_DOC[j] ? 3 + ((i * 7 + j * 3) % 11) : (i + j) % 3 === 0 ? 1 : 0));
    lines.push(`${term},${cells.join(',')}`);
  });
  return lines.join('\n') + '\n';
}

/** The `top` largest positive values with their indices, largest first, equal values in index order. */
export function expectedTop(values: readonly number[], top: number): { index: number; weight: number }[] {
  return values
    .map((weight, index) => ({ index, weight }))
    .filter((e) => e.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index)
    .slice(0, top);
}
