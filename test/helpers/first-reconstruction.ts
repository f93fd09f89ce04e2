// Times, in the page, when the app first shows an opened image's original, its first reconstruction and its final
// one: shared by the end-to-end test that logs them and by the photo benchmark that reports them.

/** Milliseconds on the page's clock (performance.now()); null until that moment has come. */
export interface ReconstructionTimes {
  original: number | null;
  firstReconstruction: number | null;
  final: number | null;
  /** What the reconstruction's caption said as the first one showed (e.g. 'Preview coarse preview: rank 12 at 192×120'). */
  firstCaption: string | null;
}

/**
 * A script for page.addInitScript: it watches the document from its first moment and notes each time once, so
 * that nothing depends on how often the test looks. `window.__reconstructionTimes` holds the times;
 * `window.__resetReconstructionTimes()` starts over for the next image.
 */
export const RECORD_RECONSTRUCTION_TIMES = `(() => {
  const blank = () => ({ original: null, firstReconstruction: null, final: null, firstCaption: null });
  window.__reconstructionTimes = blank();
  window.__resetReconstructionTimes = () => { window.__reconstructionTimes = blank(); };
  const drawn = (id) => {
    const c = document.querySelector('[data-testid="' + id + '"]');
    return !!c && c.width > 0 && c.height > 0;
  };
  const look = () => {
    const t = window.__reconstructionTimes;
    const now = performance.now();
    if (t.original === null && drawn('view-original')) t.original = now;
    if (t.original !== null && t.firstReconstruction === null && drawn('view-reconstruction')) {
      t.firstReconstruction = now;
      const caption = document.querySelector('[data-testid="caption-reconstruction"]');
      t.firstCaption = caption ? caption.textContent.replace(/\\s+/g, ' ').trim() : '';
    }
    const status = document.querySelector('[data-testid="job-status"]');
    if (t.firstReconstruction !== null && t.final === null && status && status.getAttribute('data-status') === 'done') t.final = now;
  };
  const start = () => new MutationObserver(look).observe(document.documentElement, { subtree: true, childList: true, attributes: true });
  if (document.documentElement) start();
  else document.addEventListener('DOMContentLoaded', start);
})();`;

type Recorded = { __reconstructionTimes: ReconstructionTimes; __resetReconstructionTimes(): void };

/** Reads the times back; for page.evaluate and page.waitForFunction (a function, as the app's CSP forbids eval). */
export const readReconstructionTimes = (): ReconstructionTimes => (globalThis as unknown as Recorded).__reconstructionTimes;
/** True once the final reconstruction has shown; for page.waitForFunction. */
export const finalReconstructionShown = (): boolean => (globalThis as unknown as Recorded).__reconstructionTimes.final !== null;
/** Starts over for the next image; for page.evaluate. */
export const resetReconstructionTimes = (): void => (globalThis as unknown as Recorded).__resetReconstructionTimes();
