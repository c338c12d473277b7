// The stream wall: one tile (a link to the stream's page) per stream, filtered by a search box
// and a state select. Tiles are created once and updated in place, so keyboard focus survives
// live updates.

import { attachThumb } from './thumb.js';
import {
  STATE_LABEL,
  el,
  fmtDuration,
  fmtFps,
  fmtTime,
  incidentLabel,
  replaceChildren,
  worstSeverity,
} from './format.js';

/**
 * @param {import('./store.js').Store} store
 * @param {{ list: HTMLElement, search: HTMLInputElement, state: HTMLSelectElement, count: HTMLElement, empty: HTMLElement }} ui
 */
export function createWall(store, ui) {
  /** @type {Map<string, { li: HTMLLIElement, a: HTMLAnchorElement, name: HTMLElement, sid: HTMLElement, badge: HTMLElement, fps: HTMLElement, tags: HTMLElement, incidents: HTMLElement, stopThumb: () => void }>} */
  const tiles = new Map();

  function createTile(id) {
    const name = el('span', { class: 'tile-name' });
    const badge = el('span', { class: 'badge' });
    const sid = el('span', { class: 'tile-id' });
    const fps = el('span', { class: 'tile-fps' });
    const tags = el('span', { class: 'tile-tags' });
    const incidents = el('div', { class: 'tile-incidents' });
    const thumb = el('div', { class: 'thumb' });
    const a = /** @type {HTMLAnchorElement} */ (
      el(
        'a',
        { class: 'tile', href: `#/streams/${encodeURIComponent(id)}`, dataset: { id } },
        thumb,
        el(
          'div',
          { class: 'tile-body' },
          el('div', { class: 'tile-head' }, name, badge),
          el('div', { class: 'tile-meta' }, sid, fps),
          tags,
          incidents,
        ),
      )
    );
    const li = /** @type {HTMLLIElement} */ (el('li', { class: 'tile-item', dataset: { id } }, a));
    const tile = { li, a, name, sid, badge, fps, tags, incidents, stopThumb: attachThumb(thumb, id) };
    tiles.set(id, tile);
    return tile;
  }

  function update(id) {
    const s = store.streams.get(id);
    const t = tiles.get(id);
    if (!s || !t) return;
    const open = store.openIncidents(id);
    const severity = worstSeverity(open);
    const state = s.state ?? 'connecting';
    t.a.dataset.state = state;
    t.a.dataset.severity = severity;
    t.a.dataset.open = String(open.length);
    t.name.textContent = s.name;
    t.sid.textContent = s.id;
    t.badge.className = `badge state-${state}`;
    t.badge.textContent = STATE_LABEL[state] ?? state;
    t.fps.textContent = state === 'live' || s.fps ? fmtFps(s.fps) : '';
    t.tags.textContent = (s.tags ?? []).map((x) => `#${x}`).join(' ');
    if (open.length === 0) {
      replaceChildren(t.incidents, el('p', { class: 'tile-ok' }, 'No open incidents'));
    } else {
      replaceChildren(
        t.incidents,
        el(
          'ul',
          { class: 'tile-incident-list' },
          ...open.map((i) =>
            el(
              'li',
              { class: `tile-incident sev-${i.severity}`, dataset: { id: i.id, type: i.type } },
              el('span', { class: 'sev-label' }, i.severity),
              ' ',
              el('strong', {}, incidentLabel(i)),
              ' since ',
              el('time', { datetime: i.openedAt }, fmtTime(i.openedAt)),
              ' (',
              el(
                'span',
                { class: 'ago', dataset: { since: i.openedAt } },
                fmtDuration(Date.now() - Date.parse(i.openedAt)),
              ),
              ')',
              i.silenced ? el('span', { class: 'tile-note' }, ' · silenced') : null,
              i.acknowledged ? el('span', { class: 'tile-note' }, ` · ack ${i.acknowledged.by}`) : null,
            ),
          ),
        ),
      );
    }
    const problems = open.map((i) => `${i.severity} ${incidentLabel(i)}`).join(', ');
    t.a.setAttribute(
      'aria-label',
      `${s.name} (${s.id}), ${STATE_LABEL[state] ?? state}${s.fps ? `, ${s.fps.toFixed(0)} fps` : ''}, ` +
        (open.length ? `${open.length} open incident${open.length > 1 ? 's' : ''}: ${problems}` : 'no open incidents'),
    );
    filterOne(id);
  }

  function matches(s) {
    const wanted = ui.state.value;
    const state = s.state ?? 'connecting';
    if (wanted === 'incident' && store.openIncidents(s.id).length === 0) return false;
    if (wanted === 'ended' && state !== 'ended' && state !== 'stopped') return false;
    if (wanted && wanted !== 'incident' && wanted !== 'ended' && state !== wanted) return false;
    const terms = ui.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    if (terms.length === 0) return true;
    const hay = [s.name, s.id, ...(s.tags ?? []), ...(s.tags ?? []).map((x) => `#${x}`)].join(' ').toLowerCase();
    return terms.every((term) => hay.includes(term));
  }

  function filterOne(id) {
    const s = store.streams.get(id);
    const t = tiles.get(id);
    if (s && t) t.li.hidden = !matches(s);
  }

  let lastCount = '';
  function filterAll() {
    for (const id of tiles.keys()) filterOne(id);
    const shown = [...tiles.values()].filter((t) => !t.li.hidden).length;
    const text =
      shown === tiles.size ? `${tiles.size} stream${tiles.size === 1 ? '' : 's'}` : `${shown} of ${tiles.size} streams`;
    if (text !== lastCount) ui.count.textContent = lastCount = text;
    ui.empty.hidden = shown > 0 || tiles.size === 0;
  }

  /** Rebuilds the tile set in stream order, keeping the tiles (and focus) of streams that stay. */
  function reset() {
    for (const [id, t] of tiles) {
      if (!store.streams.has(id)) {
        t.stopThumb();
        t.li.remove();
        tiles.delete(id);
      }
    }
    let prev = null;
    for (const id of store.streams.keys()) {
      const t = tiles.get(id) ?? createTile(id);
      const expected = prev ? prev.nextSibling : ui.list.firstChild;
      if (expected !== t.li) ui.list.insertBefore(t.li, expected);
      prev = t.li;
      update(id);
    }
    filterAll();
  }

  store.addEventListener('reset', reset);
  store.addEventListener('stream', (e) => {
    update(/** @type {CustomEvent<string>} */ (e).detail);
    filterAll();
  });
  ui.search.addEventListener('input', filterAll);
  ui.state.addEventListener('change', filterAll);
  // Enter in the search box would submit the form (and reload): keep it on the page.
  ui.search.form?.addEventListener('submit', (e) => e.preventDefault());

  return {
    /** Refreshes the "(12 s)" counters of open incidents. */
    tick(now = Date.now()) {
      for (const span of ui.list.querySelectorAll('.ago')) {
        const since = /** @type {HTMLElement} */ (span).dataset.since;
        if (since) span.textContent = fmtDuration(now - Date.parse(since));
      }
    },
  };
}
