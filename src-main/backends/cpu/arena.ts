// Allocation of the shared wasm memory: first fit over a sorted free list, growing the memory on demand.
// Blocks are 64-byte aligned (a cache line) and never move, so pointers stay valid while the memory grows.

const ALIGN = 64;
const PAGE = 65536;

export class Arena {
  private readonly free: { start: number; size: number }[] = [];
  private readonly used = new Map<number, number>();
  private top: number;
  /** Bytes currently handed out, and the most ever handed out at once. */
  bytesInUse = 0;
  peakBytes = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    start: number,
  ) {
    this.top = align(start);
  }

  /** A block of at least `bytes` bytes, zero-filled when `zero` is set. Throws RangeError when 4 GiB is not enough. */
  alloc(bytes: number, zero = false): number {
    const size = align(Math.max(bytes, 1));
    let ptr = -1;
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block.size < size) continue;
      ptr = block.start;
      if (block.size === size) this.free.splice(i, 1);
      else {
        block.start += size;
        block.size -= size;
      }
      break;
    }
    if (ptr < 0) {
      ptr = this.top;
      const end = ptr + size;
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        const pages = Math.ceil((end - have) / PAGE);
        try {
          this.memory.grow(pages);
        } catch {
          throw new RangeError(`the CPU backend could not reserve ${formatBytes(end)} of WebAssembly memory (4 GiB at most)`);
        }
      }
      this.top = end;
    }
    this.used.set(ptr, size);
    this.bytesInUse += size;
    this.peakBytes = Math.max(this.peakBytes, this.bytesInUse);
    if (zero) new Uint8Array(this.memory.buffer, ptr, size).fill(0);
    return ptr;
  }

  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) return;
    this.used.delete(ptr);
    this.bytesInUse -= size;
    // Insert sorted, then merge with the neighbours; a block that ends at the top gives its space back to it.
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < ptr) i++;
    this.free.splice(i, 0, { start: ptr, size });
    const next = this.free[i + 1];
    if (next && ptr + size === next.start) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === ptr) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
      i--;
    }
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(n / 2 ** 20)} MiB`;
}
