// The compare view's geometry, shared by every pane so that zoom and pan stay in step: mode, zoom, pan and split.

export type CompareMode = 'side-by-side' | 'split' | 'diff';

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 64;
const STEP = 1.25;

export class ViewState {
  mode = $state<CompareMode>('side-by-side');
  /** Screen pixels per image pixel. */
  zoom = $state(1);
  /** Where the image's top-left corner sits in each pane, in screen pixels. */
  x = $state(0);
  y = $state(0);
  /** While true the image follows the pane's size (fit to view). */
  fitted = $state(true);
  /** Split mode: where the divider stands, as a percentage of the pane's width. */
  split = $state(50);
  paneWidth = $state(0);
  paneHeight = $state(0);
  imageWidth = $state(0);
  imageHeight = $state(0);

  readonly zoomPercent = $derived(Math.round(this.zoom * 1000) / 10);
  /** Crisp pixels when magnified; smooth when reduced. */
  readonly pixelated = $derived(this.zoom > 1);

  setImage(width: number, height: number): void {
    if (width === this.imageWidth && height === this.imageHeight) return;
    this.imageWidth = width;
    this.imageHeight = height;
    this.fit();
  }

  setPane(width: number, height: number): void {
    if (width === this.paneWidth && height === this.paneHeight) return;
    const cx = this.paneWidth / 2;
    const cy = this.paneHeight / 2;
    this.paneWidth = width;
    this.paneHeight = height;
    if (this.fitted) this.fit();
    else {
      // Keep what was at the centre at the centre.
      this.x += width / 2 - cx;
      this.y += height / 2 - cy;
    }
  }

  fit(): void {
    this.fitted = true;
    if (!this.imageWidth || !this.imageHeight || !this.paneWidth || !this.paneHeight) return;
    const zoom = Math.min(this.paneWidth / this.imageWidth, this.paneHeight / this.imageHeight);
    this.zoom = clampZoom(zoom);
    this.x = (this.paneWidth - this.imageWidth * this.zoom) / 2;
    this.y = (this.paneHeight - this.imageHeight * this.zoom) / 2;
  }

  /** Zooms so that the image point under (cx, cy) stays under it. */
  zoomAt(zoom: number, cx = this.paneWidth / 2, cy = this.paneHeight / 2): void {
    const z = clampZoom(zoom);
    if (!Number.isFinite(z)) return;
    this.x = cx - (cx - this.x) * (z / this.zoom);
    this.y = cy - (cy - this.y) * (z / this.zoom);
    this.zoom = z;
    this.fitted = false;
    this.keepInSight();
  }

  zoomIn(): void {
    this.zoomAt(this.zoom * STEP);
  }

  zoomOut(): void {
    this.zoomAt(this.zoom / STEP);
  }

  setZoomPercent(percent: number): void {
    if (Number.isFinite(percent) && percent > 0) this.zoomAt(percent / 100);
  }

  panBy(dx: number, dy: number): void {
    this.x += dx;
    this.y += dy;
    this.fitted = false;
    this.keepInSight();
  }

  setSplit(percent: number): void {
    this.split = Math.max(0, Math.min(100, percent));
  }

  /** An image dragged out of the pane is hard to find again: keep at least a margin of it visible. */
  private keepInSight(): void {
    const margin = 48;
    const w = this.imageWidth * this.zoom;
    const h = this.imageHeight * this.zoom;
    this.x = Math.min(Math.max(this.x, margin - w), this.paneWidth - margin);
    this.y = Math.min(Math.max(this.y, margin - h), this.paneHeight - margin);
  }
}

function clampZoom(zoom: number): number {
  return Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, zoom));
}
