// Vigil dashboard entry point: loads a snapshot, follows /api/events, routes by hash
// (#/ the wall and timeline, #/streams/:id a stream's page).

import { Store } from './store.js';
import { createWall } from './wall.js';
import { createTimeline } from './timeline.js';
import { createStreamPage } from './stream-page.js';
import { createActions } from './actions.js';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const store = new Store();
const wall = createWall(store, {
  list: $('wall'),
  search: /** @type {HTMLInputElement} */ ($('search')),
  state: /** @type {HTMLSelectElement} */ ($('state-filter')),
  count: $('wall-count'),
  empty: $('wall-empty'),
});
const actions = createActions(store);
const timeline = createTimeline(store, { list: $('timeline'), empty: $('timeline-empty'), actions });
const streamPage = createStreamPage(store, actions);
const connection = $('connection');
const loadError = $('load-error');

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

let syncing = null;
/** Fetches /api/streams and /api/incidents and applies them (again after a reconnect, and every 30 s). */
function resync() {
  syncing ??= (async () => {
    try {
      const [streams, page] = await Promise.all([getJson('/api/streams'), getJson('/api/incidents?limit=200')]);
      const missing = store.load(streams, page);
      for (const id of missing) {
        getJson(`/api/incidents/${encodeURIComponent(id)}`).then(
          (inc) => store.incident(inc),
          () => store.incident({ ...store.incidents.get(id), state: 'closed' }),
        );
      }
      loadError.hidden = true;
      summary();
    } catch (err) {
      loadError.textContent = `Could not load the current state (${err instanceof Error ? err.message : String(err)}); retrying.`;
      loadError.hidden = false;
      setTimeout(resync, 3000);
    } finally {
      syncing = null;
    }
  })();
  return syncing;
}

function setConnection(state, text) {
  connection.dataset.state = state;
  connection.textContent = text;
}

let hadError = false;
function follow() {
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => {
    setConnection('live', 'Live');
    if (hadError) void resync();
    hadError = false;
  });
  events.addEventListener('error', () => {
    hadError = true;
    setConnection('lost', events.readyState === EventSource.CLOSED ? 'Disconnected' : 'Reconnecting…');
    // EventSource gives up on an HTTP error: start over after a pause.
    if (events.readyState === EventSource.CLOSED) setTimeout(follow, 5000);
  });
  let lastUnknown = 0;
  events.addEventListener('status', (e) => {
    // A stream added at run time: fetch the snapshot again, at most every 5 s.
    if (!store.status(JSON.parse(/** @type {MessageEvent} */ (e).data)) && Date.now() - lastUnknown > 5000) {
      lastUnknown = Date.now();
      void resync();
    }
  });
  const onIncident = (e) => {
    store.incident(JSON.parse(/** @type {MessageEvent} */ (e).data));
    summary();
  };
  events.addEventListener('incident.opened', onIncident);
  events.addEventListener('incident.closed', onIncident);
  // Acknowledged, released from a silence, or its clip is ready.
  events.addEventListener('incident.updated', onIncident);
}

let lastSummary = '';
function summary() {
  const streams = [...store.streams.values()];
  const count = (st) => streams.filter((s) => (s.state ?? 'connecting') === st).length;
  const open = [...store.incidents.values()].filter((i) => i.state === 'open').length;
  const text = `${count('live')} live · ${count('lost')} lost · ${count('connecting')} connecting · ${open} open incident${open === 1 ? '' : 's'}`;
  const el = $('summary');
  if (text !== lastSummary) el.textContent = lastSummary = text;
  el.dataset.open = String(open);
}

function route() {
  const m = /^#\/streams\/(.+)$/.exec(location.hash);
  const id = m ? decodeURIComponent(m[1]) : undefined;
  const wasStream = !$('stream-view').hidden;
  $('wall-view').hidden = id !== undefined;
  streamPage.show(id);
  document.title = id !== undefined ? `Vigil · ${store.streams.get(id)?.name ?? id}` : 'Vigil · stream wall';
  if (id !== undefined) streamPage.focus();
  else if (wasStream) {
    // Back on the wall: return focus to the tile of the stream we came from, if any.
    const from = sessionStorage.getItem('vigil:last-stream');
    const tile = from ? document.querySelector(`.tile[data-id="${CSS.escape(from)}"]`) : null;
    if (tile instanceof HTMLElement) tile.focus();
  }
  if (id !== undefined) sessionStorage.setItem('vigil:last-stream', id);
}

window.addEventListener('hashchange', route);
store.addEventListener('reset', () => {
  const m = /^#\/streams\/(.+)$/.exec(location.hash);
  if (m) document.title = `Vigil · ${store.streams.get(decodeURIComponent(m[1]))?.name ?? ''}`;
});
store.addEventListener('stream', summary);

follow();
route();
void resync();
setInterval(() => void resync(), 30_000);
setInterval(() => {
  const now = Date.now();
  wall.tick(now);
  timeline.tick(now);
  streamPage.tick();
}, 1000);

// For tests and the curious: the live state, read-only by convention.
Object.defineProperty(window, 'vigil', { value: { store } });
