// Per-stream thumbnail slot: GET /api/streams/:id/thumbnail while it answers 200 with an image,
// else (no such endpoint, no thumbnail taken yet) a neutral placeholder; it asks again now and then.

import { el, replaceChildren } from './format.js';

const REFRESH_MS = 5_000;
const RETRY_MS = 10_000;

/**
 * Fills `slot` (an element with class `thumb`) and keeps it current.
 * @param {HTMLElement} slot
 * @param {string} streamId
 * @returns {() => void} stops refreshing
 */
export function attachThumb(slot, streamId) {
  slot.classList.add('thumb');
  let timer = 0;
  let stopped = false;
  const placeholder = () =>
    replaceChildren(
      slot,
      el(
        'span',
        { class: 'thumb-placeholder' },
        el('span', { class: 'thumb-icon', 'aria-hidden': 'true' }),
        'No preview',
      ),
    );
  placeholder();
  slot.dataset.thumb = 'none';
  const load = () => {
    if (stopped) return;
    const img = new Image();
    img.alt = '';
    img.decoding = 'async';
    img.onload = () => {
      if (stopped) return;
      replaceChildren(slot, img);
      slot.dataset.thumb = 'image';
      timer = window.setTimeout(load, REFRESH_MS);
    };
    img.onerror = () => {
      if (stopped) return;
      if (slot.dataset.thumb !== 'image') placeholder();
      timer = window.setTimeout(load, RETRY_MS);
    };
    img.src = `/api/streams/${encodeURIComponent(streamId)}/thumbnail?t=${Date.now()}`;
  };
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
