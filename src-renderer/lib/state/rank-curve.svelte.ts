// The rank curve of the open image: PSNR and ratio against rank, filled in point by point by a background job.
import type { ImageSettings, RankCurvePoint, ServiceEvent } from '../../../src-main/api/contract.js';
import { api, messageOf } from '../api.js';
import { JobTracker } from './job-tracker.js';

export type CurveStatus = 'idle' | 'running' | 'done' | 'stopped' | 'failed';

/** A spread of ranks that shows the curve's shape without spending long on the large ones. */
export function autoRanks(width: number, height: number): number[] {
  const limit = Math.max(1, Math.min(width, height, 160));
  const ladder = [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160];
  return ladder.filter((r) => r <= limit);
}

/** "2, 4, 8-12" → [2, 4, 8, 9, 10, 11, 12]; throws with a message people can act on. */
export function parseRanks(text: string, minRank: number, maxRank: number): number[] {
  const ranks = new Set<number>();
  for (const part of text.split(/[\s,;]+/).filter(Boolean)) {
    const range = /^(\d+)\s*[-–]\s*(\d+)$/.exec(part);
    if (range) {
      const a = Number(range[1]);
      const b = Number(range[2]);
      if (b < a || b - a > 512) throw new Error(`rank range "${part}" is not a small increasing range`);
      for (let r = a; r <= b; r++) ranks.add(r);
    } else if (/^\d+$/.test(part)) ranks.add(Number(part));
    else throw new Error(`"${part}" is not a rank (use whole numbers like 2, 4, 8-12)`);
  }
  const list = [...ranks].sort((a, b) => a - b);
  const bad = list.find((r) => r < minRank || r > maxRank);
  if (bad !== undefined) throw new Error(`rank ${bad} is outside ${minRank}–${maxRank} for this image`);
  if (list.length === 0) throw new Error('no ranks given');
  return list;
}

export class RankCurveState {
  points = $state.raw<RankCurvePoint[]>([]);
  status = $state<CurveStatus>('idle');
  /** What the background job is doing now (from its progress events). */
  stage = $state('');
  /** The ranks asked for: empty means the automatic spread. */
  ranksText = $state('');
  /** The ranks of the running (or last) curve, to show how far it has got. */
  requested = $state.raw<number[]>([]);
  private readonly tracker = new JobTracker((event) => this.apply(event));

  constructor(private readonly report: (message: string) => void) {}

  offer(event: ServiceEvent): boolean {
    return this.tracker.offer(event);
  }

  reset(): void {
    this.tracker.forget();
    this.points = [];
    this.status = 'idle';
    this.stage = '';
    this.requested = [];
  }

  async start(documentId: string, settings: ImageSettings, ranks: number[]): Promise<void> {
    const previous = this.tracker.jobId;
    if (previous) void api.ops.cancel(previous).catch(() => {});
    this.points = [];
    this.requested = ranks;
    this.status = 'running';
    this.stage = 'starting';
    try {
      await this.tracker.begin(() => api.ops.rankCurve(documentId, settings, ranks));
    } catch (error) {
      this.status = 'failed';
      this.stage = '';
      this.report(messageOf(error));
    }
  }

  cancel(): void {
    const id = this.tracker.jobId;
    if (id) void api.ops.cancel(id).catch(() => {});
    this.tracker.forget();
    if (this.status === 'running') this.status = 'stopped';
    this.stage = '';
  }

  private apply(event: ServiceEvent): void {
    switch (event.type) {
      case 'rank-curve': {
        const others = this.points.filter((p) => p.rank !== event.point.rank);
        this.points = [...others, event.point].sort((a, b) => a.rank - b.rank);
        if (event.done) {
          this.status = 'done';
          this.stage = '';
        }
        break;
      }
      case 'progress':
        if (this.status === 'running') this.stage = event.progress.stage;
        break;
      case 'job-done':
        if (this.status === 'running') this.status = 'done';
        this.stage = '';
        break;
      case 'job-failed':
        if (this.status === 'running') this.status = event.cancelled ? 'stopped' : 'failed';
        this.stage = '';
        if (!event.cancelled) this.report(event.error);
        break;
      default:
        break;
    }
  }
}
