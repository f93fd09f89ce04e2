// Wheel zoom and drag pan for a compare pane, as an attachment: every pane drives the same ViewState.
import type { Attachment } from 'svelte/attachments';
import type { ViewState } from './state/view.svelte.js';

/** A press and release that moved less than this many screen pixels is a tap, not a drag. */
const TAP_SLOP = 4;

/**
 * Wheel: zoom about the pointer (pinch on a touchpad arrives as ctrl+wheel). Drag: pan. A tap calls `onTap` with the
 * image point under it (in image pixels), for layers that pick something there.
 */
export function panZoom(view: ViewState, onTap?: () => ((x: number, y: number) => void) | undefined): Attachment<HTMLElement> {
  return (element) => {
    let dragging: { id: number; x: number; y: number; moved: number } | null = null;

    const onWheel = (event: WheelEvent): void => {
      event.preventDefault();
      const rect = element.getBoundingClientRect();
      // Lines and pages (mouse wheels on some systems) count as many pixels.
      const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? rect.height : 1;
      const factor = Math.exp((-event.deltaY * unit) / (event.ctrlKey ? 100 : 500));
      view.zoomAt(view.zoom * factor, event.clientX - rect.left, event.clientY - rect.top);
    };
    const onDown = (event: PointerEvent): void => {
      if (event.button !== 0 || dragging) return;
      const target = event.target as Element | null;
      // Controls inside the pane (the split divider) handle their own drags.
      if (target?.closest('[data-own-drag]')) return;
      dragging = { id: event.pointerId, x: event.clientX, y: event.clientY, moved: 0 };
      element.setPointerCapture(event.pointerId);
      element.classList.add('dragging');
    };
    const onMove = (event: PointerEvent): void => {
      if (!dragging || event.pointerId !== dragging.id) return;
      dragging.moved += Math.abs(event.clientX - dragging.x) + Math.abs(event.clientY - dragging.y);
      view.panBy(event.clientX - dragging.x, event.clientY - dragging.y);
      dragging.x = event.clientX;
      dragging.y = event.clientY;
    };
    const onUp = (event: PointerEvent): void => {
      if (!dragging || event.pointerId !== dragging.id) return;
      const tapped = event.type === 'pointerup' && dragging.moved < TAP_SLOP;
      dragging = null;
      element.classList.remove('dragging');
      if (element.hasPointerCapture(event.pointerId)) element.releasePointerCapture(event.pointerId);
      const tap = tapped ? onTap?.() : undefined;
      if (tap) {
        const rect = element.getBoundingClientRect();
        tap((event.clientX - rect.left - view.x) / view.zoom, (event.clientY - rect.top - view.y) / view.zoom);
      }
    };
    const onDoubleClick = (event: MouseEvent): void => {
      const rect = element.getBoundingClientRect();
      // Double-click toggles between fit and 1:1 at the clicked point, as image viewers do.
      if (view.fitted || view.zoom < 1) view.zoomAt(1, event.clientX - rect.left, event.clientY - rect.top);
      else view.fit();
    };
    const resize = new ResizeObserver(() => view.setPane(element.clientWidth, element.clientHeight));
    resize.observe(element);
    view.setPane(element.clientWidth, element.clientHeight);

    element.addEventListener('wheel', onWheel, { passive: false });
    element.addEventListener('pointerdown', onDown);
    element.addEventListener('pointermove', onMove);
    element.addEventListener('pointerup', onUp);
    element.addEventListener('pointercancel', onUp);
    element.addEventListener('dblclick', onDoubleClick);
    return () => {
      resize.disconnect();
      element.removeEventListener('wheel', onWheel);
      element.removeEventListener('pointerdown', onDown);
      element.removeEventListener('pointermove', onMove);
      element.removeEventListener('pointerup', onUp);
      element.removeEventListener('pointercancel', onUp);
      element.removeEventListener('dblclick', onDoubleClick);
    };
  };
}
