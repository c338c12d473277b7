// The per-stream page (#/streams/:id): facts, open incidents, live gauge charts, history.

import { attachThumb } from './thumb.js';
import { createCharts } from './charts.js';
import { createTimeline } from './timeline.js';
import {
  STATE_LABEL,
  el,
  fmtBitrate,
  fmtDuration,
  fmtFps,
  fmtTime,
  fmtValue,
  incidentLabel,
  replaceChildren,
  worstSeverity,
} from './format.js';

/**
 * @param {import('./store.js').Store} store
 * @param {{ acknowledge(inc: any): Promise<void>, silence(t: { stream: string, type?: string }): Promise<void> }} [actions]
 */
export function createStreamPage(store, actions) {
  const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const ui = {
    view: $('stream-view'),
    title: $('stream-title'),
    state: $('stream-state'),
    missing: $('stream-missing'),
    body: $('stream-body'),
    thumb: $('stream-thumb'),
    facts: $('stream-facts'),
    open: $('stream-open'),
  };
  /** @type {string | undefined} */
  let current;
  let stopThumb = () => {};
  const charts = createCharts(store, { container: $('charts'), empty: $('charts-empty') });
  const timeline = createTimeline(store, {
    list: $('stream-timeline'),
    empty: $('stream-timeline-empty'),
    streamId: () => current,
    actions,
  });
  $('stream-silence')?.addEventListener('click', () => {
    if (current !== undefined) void actions?.silence({ stream: current });
  });

  function render() {
    if (current === undefined) return;
    const s = store.streams.get(current);
    ui.missing.hidden = !!s || !store.loaded;
    ui.body.hidden = !s;
    if (!s) {
      ui.title.textContent = current;
      ui.state.textContent = '';
      ui.state.className = 'badge';
      ui.missing.textContent = `There is no stream "${current}".`;
      return;
    }
    const state = s.state ?? 'connecting';
    ui.title.textContent = s.name;
    ui.state.className = `badge state-${state}`;
    ui.state.textContent = STATE_LABEL[state] ?? state;
    const open = store.openIncidents(current);
    ui.view.dataset.severity = worstSeverity(open);
    const fact = (k, v) => el('div', {}, el('dt', {}, k), el('dd', {}, v));
    replaceChildren(
      ui.facts,
      fact('Id', s.id),
      fact('Input', s.url),
      fact('Tags', (s.tags ?? []).join(', ') || '—'),
      fact('Frame rate', fmtFps(s.fps)),
      fact('Bitrate', fmtBitrate(s.bitrate)),
      fact('Resolution', s.width && s.height ? `${s.width}×${s.height}` : '—'),
      fact(
        'Last frame',
        s.lastFrameAt ? `${fmtTime(s.lastFrameAt)} (${fmtDuration(Date.now() - Date.parse(s.lastFrameAt))} ago)` : '—',
      ),
      fact('Decode lag', typeof s.decodeLag === 'number' ? `${fmtValue(s.decodeLag)} s` : '—'),
      fact('Reconnects', String(s.reconnects ?? 0)),
      fact('Decode errors', String(s.decodeErrors ?? 0)),
      s.lastError ? fact('Last error', s.lastError) : null,
    );
    if (open.length === 0) replaceChildren(ui.open, el('li', { class: 'tile-ok' }, 'None'));
    else
      replaceChildren(
        ui.open,
        ...open.map((i) =>
          el(
            'li',
            { class: `tile-incident sev-${i.severity}`, dataset: { id: i.id, type: i.type } },
            el('span', { class: 'sev-label' }, i.severity),
            ' ',
            el('strong', {}, incidentLabel(i)),
            ` since ${fmtTime(i.openedAt)} (${fmtDuration(Date.now() - Date.parse(i.openedAt))})`,
            i.silenced ? el('span', { class: 'tile-note' }, ' · silenced') : null,
            i.acknowledged ? el('span', { class: 'tile-note' }, ` · acknowledged by ${i.acknowledged.by}`) : null,
          ),
        ),
      );
  }

  store.addEventListener('reset', render);
  store.addEventListener('stream', (e) => {
    if (/** @type {CustomEvent<string>} */ (e).detail === current) render();
  });

  return {
    /** Shows the page of a stream; undefined hides it. */
    show(id) {
      const changed = id !== current;
      current = id;
      ui.view.hidden = id === undefined;
      if (changed) {
        stopThumb();
        stopThumb = id === undefined ? () => {} : attachThumb(ui.thumb, id);
        timeline.reset();
      }
      charts.show(id);
      render();
    },
    focus() {
      ui.title.focus();
    },
    tick() {
      if (current === undefined) return;
      render();
      timeline.tick();
    },
  };
}
