// Incident timeline, newest first: the snapshot from /api/incidents, then SSE opens and closes.
// An item is created once per incident and updated in place when it closes.

import { el, fmtDuration, fmtTime, fmtValue, incidentDuration, incidentLabel, replaceChildren } from './format.js';

const MAX_ITEMS = 200;

/**
 * @param {import('./store.js').Store} store
 * @param {{ list: HTMLElement, empty: HTMLElement, streamId?: () => string | undefined, actions?: { acknowledge(inc: any): Promise<void>, silence(t: { stream: string, type?: string }): Promise<void> } }} ui
 *   streamId: when given, only that stream's incidents (the per-stream page).
 *   actions: acknowledge and silence buttons on each item.
 */
export function createTimeline(store, ui) {
  /** @type {Map<string, { li: HTMLElement, openedAt: number }>} */
  const items = new Map();

  const wanted = (inc) => {
    const only = ui.streamId?.();
    return ui.streamId ? only !== undefined && inc.streamId === only : true;
  };

  function fill(li, inc) {
    const stream = store.streams.get(inc.streamId);
    li.className = `incident sev-${inc.severity} state-${inc.state}`;
    li.dataset.state = inc.state;
    const ms = Object.entries(inc.measurements ?? {});
    replaceChildren(
      li,
      el(
        'div',
        { class: 'incident-head' },
        el('span', { class: `sev-label sev-${inc.severity}` }, inc.severity),
        ' ',
        el('strong', { class: 'incident-type' }, incidentLabel(inc)),
        ' on ',
        el(
          'a',
          { href: `#/streams/${encodeURIComponent(inc.streamId)}` },
          stream?.name ?? inc.streamName ?? inc.streamId,
        ),
        ' ',
        el('span', { class: `incident-state state-${inc.state}` }, inc.state === 'open' ? 'open' : 'closed'),
        inc.silenced ? el('span', { class: 'badge badge-silenced', title: 'Held back by a silence: not notified' }, 'silenced') : null,
        inc.acknowledged
          ? el(
              'span',
              { class: 'badge badge-ack', title: inc.acknowledged.note ?? '' },
              `acknowledged by ${inc.acknowledged.by}`,
            )
          : null,
      ),
      el(
        'p',
        { class: 'incident-times' },
        el('time', { datetime: inc.openedAt }, fmtTime(inc.openedAt)),
        ' → ',
        inc.state === 'closed'
          ? el('time', { datetime: inc.closedAt ?? '' }, fmtTime(inc.closedAt))
          : el('span', { class: 'ongoing' }, 'ongoing'),
        ' · ',
        el(
          'span',
          { class: 'duration', dataset: inc.state === 'open' ? { since: inc.openedAt } : {} },
          fmtDuration(incidentDuration(inc)),
        ),
        inc.occurrences > 1 ? ` · ${inc.occurrences}×` : '',
      ),
      ms.length
        ? el(
            'dl',
            { class: 'measurements' },
            ...ms.map(([k, v]) => el('div', {}, el('dt', {}, k.replace(/_/g, ' ')), el('dd', {}, fmtValue(v)))),
          )
        : null,
      actionsRow(inc),
    );
  }

  /** Evidence links and the operator's buttons. */
  function actionsRow(inc) {
    const what = `${inc.type} on ${inc.streamName ?? inc.streamId}`;
    const actions = ui.actions;
    return el(
      'div',
      { class: 'incident-actions' },
      inc.thumbnailUrl ? el('a', { href: inc.thumbnailUrl, class: 'evidence', target: '_blank', rel: 'noopener' }, 'Onset picture') : null,
      inc.clipUrl
        ? el('a', { href: inc.clipUrl, class: 'evidence evidence-clip', download: `${inc.id}.ts` }, 'Clip (±5 s)')
        : null,
      actions && !inc.acknowledged
        ? el(
            'button',
            {
              type: 'button',
              class: 'btn btn-small btn-ack',
              'aria-label': `Acknowledge ${what}`,
              onclick: () => void actions.acknowledge(inc),
            },
            'Acknowledge',
          )
        : null,
      actions
        ? el(
            'button',
            {
              type: 'button',
              class: 'btn btn-small btn-silence',
              'aria-label': `Silence ${what}`,
              onclick: () => void actions.silence({ stream: inc.streamId, type: inc.type }),
            },
            'Silence…',
          )
        : null,
    );
  }

  function put(inc) {
    if (!wanted(inc)) return;
    const existing = items.get(inc.id);
    if (existing) {
      fill(existing.li, inc);
      return;
    }
    const li = el('li', { dataset: { id: inc.id, stream: inc.streamId, type: inc.type } });
    fill(li, inc);
    const openedAt = Date.parse(inc.openedAt);
    // Newest first: before the first item that opened earlier. Existing items never move.
    let before = null;
    for (const child of ui.list.children) {
      const other = items.get(/** @type {HTMLElement} */ (child).dataset.id ?? '');
      if (other && other.openedAt < openedAt) {
        before = child;
        break;
      }
    }
    ui.list.insertBefore(li, before);
    items.set(inc.id, { li, openedAt });
    while (items.size > MAX_ITEMS) {
      const last = /** @type {HTMLElement | null} */ (ui.list.lastElementChild);
      if (!last) break;
      items.delete(last.dataset.id ?? '');
      last.remove();
    }
  }

  function reset() {
    items.clear();
    ui.list.replaceChildren();
    for (const inc of store.incidentList(ui.streamId?.()).slice(0, MAX_ITEMS)) put(inc);
    ui.empty.hidden = items.size > 0;
  }

  store.addEventListener('reset', reset);
  store.addEventListener('incident', (e) => {
    put(/** @type {CustomEvent<{ incident: any }>} */ (e).detail.incident);
    ui.empty.hidden = items.size > 0;
  });

  return {
    reset,
    tick(now = Date.now()) {
      for (const span of ui.list.querySelectorAll('.duration[data-since]')) {
        span.textContent = fmtDuration(now - Date.parse(/** @type {HTMLElement} */ (span).dataset.since ?? ''));
      }
    },
  };
}
