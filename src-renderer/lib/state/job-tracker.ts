// Follows one job at a time through the event stream: the newest start wins, events of superseded jobs are dropped,
// and events that outrun the job id (they travel on another channel than the call's answer) are replayed.
import type { ServiceEvent } from '../../../src-main/api/contract.js';

export function jobIdOf(event: ServiceEvent): string | null {
  switch (event.type) {
    case 'progress':
      return event.progress.jobId;
    case 'job-done':
    case 'job-failed':
    case 'rank-curve':
    case 'batch-file':
    case 'batch-done':
      return event.jobId;
    default:
      return null;
  }
}

const EARLY_LIMIT = 1000;

export class JobTracker {
  private generation = 0;
  private current: string | null = null;
  private awaiting = false;
  private early: ServiceEvent[] = [];

  constructor(private readonly deliver: (event: ServiceEvent) => void) {}

  get jobId(): string | null {
    return this.current;
  }

  /** True between a start and the moment its job id is known. */
  get starting(): boolean {
    return this.awaiting;
  }

  /**
   * Starts a job through `start` (which resolves with its id). Resolves with the id, or null when another
   * start or `forget` came first — the caller then leaves the state alone.
   */
  async begin(start: () => Promise<string>): Promise<string | null> {
    const generation = ++this.generation;
    this.current = null;
    this.awaiting = true;
    this.early = [];
    let id: string;
    try {
      id = await start();
    } catch (error) {
      // A failure of a start that was superseded meanwhile is nobody's business any more.
      if (generation !== this.generation) return null;
      this.awaiting = false;
      throw error;
    }
    if (generation !== this.generation) return null;
    this.current = id;
    this.awaiting = false;
    const early = this.early.filter((e) => jobIdOf(e) === id);
    this.early = [];
    for (const event of early) this.deliver(event);
    return id;
  }

  /** Drops the current job: its later events are ignored. */
  forget(): void {
    this.generation++;
    this.current = null;
    this.awaiting = false;
    this.early = [];
  }

  /** Delivers the event if it belongs to the current job (or keeps it while the id is still on its way). */
  offer(event: ServiceEvent): boolean {
    const id = jobIdOf(event);
    if (id === null) return false;
    if (id === this.current) {
      this.deliver(event);
      return true;
    }
    if (this.awaiting && this.early.length < EARLY_LIMIT) this.early.push(event);
    return false;
  }
}
