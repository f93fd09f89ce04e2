// Platform conventions for shortcuts: ⌘ on Apple systems, Ctrl elsewhere.
export const IS_APPLE = /Mac|iPhone|iPad/.test(navigator.userAgent);
export const MOD_LABEL = IS_APPLE ? '⌘' : 'Ctrl+';

/** The shortcut modifier of this platform (⌘ or Ctrl) is held, and no other but Shift. */
export function hasModifier(event: KeyboardEvent): boolean {
  return (IS_APPLE ? event.metaKey : event.ctrlKey) && !event.altKey;
}
