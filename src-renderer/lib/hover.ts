// Hover readouts for pictures of matrices: the pointer's place over an element, as fractions of its box.
import type { Attachment } from 'svelte/attachments';

/**
 * While the pointer moves over the element, shows what `read` says of the point under it (x and y as
 * fractions of the element's box, 0 at the top left); shows null when the pointer leaves. Listeners rather
 * than markup handlers: the element is a picture, the readout is its text.
 */
export function hoverReadout(read: (x: number, y: number) => string | null, show: (text: string | null) => void): Attachment<HTMLElement> {
  return (element) => {
    const move = (event: PointerEvent): void => {
      const rect = element.getBoundingClientRect();
      const x = (event.clientX - rect.left) / rect.width;
      const y = (event.clientY - rect.top) / rect.height;
      show(x >= 0 && x < 1 && y >= 0 && y < 1 ? read(x, y) : null);
    };
    const leave = (): void => show(null);
    element.addEventListener('pointermove', move);
    element.addEventListener('pointerleave', leave);
    return () => {
      element.removeEventListener('pointermove', move);
      element.removeEventListener('pointerleave', leave);
    };
  };
}
