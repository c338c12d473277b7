// The dashboard's state: streams, incidents and recent gauge history, kept from one snapshot
// (/api/streams, /api/incidents) plus the SSE events (/api/events) that follow it.

/** Seconds of gauge history kept per stream for the charts. */
export const HISTORY_SECONDS = 300;
/** Incidents kept in memory (the timeline shows the newest). */
const MAX_INCIDENTS = 500;

export class Store extends EventTarget {
  constructor() {
    super();
    /** @type {Map<string, any>} stream id → stream view (API shape), in config order */
    this.streams = new Map();
    /** @type {Map<string, any>} incident id → incident (API shape) */
    this.incidents = new Map();
    /** @type {Map<string, { t: number[], series: Map<string, (number | null)[]> }>} */
    this.history = new Map();
    this.loaded = false;
  }

  /** @param {string} type @param {unknown} [detail] */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * Applies a snapshot. Open incidents are authoritative from the streams' openIncidents: a
   * local open incident missing there was closed while we were not listening; the ids returned
   * are those to fetch one by one because the snapshot page did not include them.
   * @returns {string[]}
   */
  load(streams, page) {
    const seen = new Set();
    const next = new Map();
    for (const s of streams) {
      seen.add(s.id);
      const prev = this.streams.get(s.id);
      next.set(s.id, prev ? { ...prev, ...s } : s);
      if (!prev) this.record(s.id, s);
    }
    this.streams = next;
    for (const id of [...this.history.keys()]) if (!seen.has(id)) this.history.delete(id);

    const open = new Set();
    for (const s of streams) {
      for (const i of s.openIncidents ?? []) {
        open.add(i.id);
        this.putIncident(i);
      }
    }
    const inPage = new Set();
    for (const i of page.items ?? []) {
      inPage.add(i.id);
      this.putIncident(i);
    }
    const missing = [];
    for (const i of this.incidents.values()) {
      if (i.state === 'open' && !open.has(i.id) && !inPage.has(i.id) && seen.has(i.streamId)) missing.push(i.id);
      // A stream that is gone closed its incidents.
      if (i.state === 'open' && !seen.has(i.streamId)) this.incidents.set(i.id, { ...i, state: 'closed' });
    }
    this.trimIncidents();
    this.loaded = true;
    this.emit('reset');
    return missing;
  }

  /** SSE `status`: { id, state, fps, ..., gauges }. Returns false for a stream we do not know yet. */
  status(ev) {
    const s = this.streams.get(ev.id);
    if (!s) return false;
    const { id: _id, ...fields } = ev;
    this.streams.set(ev.id, { ...s, ...fields });
    this.record(ev.id, ev);
    this.emit('stream', ev.id);
    this.emit('gauges', ev.id);
    return true;
  }

  /** SSE `incident.opened` / `incident.closed`, or a fetched incident. */
  incident(inc) {
    const isNew = !this.incidents.has(inc.id);
    if (!this.putIncident(inc)) return;
    this.trimIncidents();
    this.emit('incident', { incident: this.incidents.get(inc.id), isNew });
    if (this.streams.has(inc.streamId)) this.emit('stream', inc.streamId);
  }

  /** Keeps the latest state: a closed incident never goes back to open. @returns {boolean} changed */
  putIncident(inc) {
    const prev = this.incidents.get(inc.id);
    if (prev && prev.state === 'closed' && inc.state === 'open') return false;
    this.incidents.set(inc.id, inc);
    return true;
  }

  trimIncidents() {
    if (this.incidents.size <= MAX_INCIDENTS) return;
    const closed = [...this.incidents.values()]
      .filter((i) => i.state === 'closed')
      .sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt));
    for (const i of closed.slice(0, this.incidents.size - MAX_INCIDENTS)) this.incidents.delete(i.id);
  }

  /** Open incidents of a stream, worst first then newest. */
  openIncidents(streamId) {
    const rank = { critical: 3, major: 2, minor: 1 };
    return [...this.incidents.values()]
      .filter((i) => i.streamId === streamId && i.state === 'open')
      .sort(
        (a, b) => (rank[b.severity] ?? 0) - (rank[a.severity] ?? 0) || Date.parse(b.openedAt) - Date.parse(a.openedAt),
      );
  }

  /** Incidents newest first, optionally of one stream. */
  incidentList(streamId) {
    return [...this.incidents.values()]
      .filter((i) => streamId === undefined || i.streamId === streamId)
      .sort((a, b) => Date.parse(b.openedAt) - Date.parse(a.openedAt));
  }

  /** Appends one point per numeric gauge (and fps) at the current time, dropping what is older than the window. */
  record(id, s) {
    const values = {};
    for (const [k, v] of Object.entries(s.gauges ?? {})) if (typeof v === 'number' && Number.isFinite(v)) values[k] = v;
    if (typeof s.fps === 'number' && Number.isFinite(s.fps) && s.state !== undefined && s.state !== 'connecting')
      values.fps = s.fps;
    if (Object.keys(values).length === 0) return;
    let h = this.history.get(id);
    if (!h) this.history.set(id, (h = { t: [], series: new Map() }));
    const now = Date.now() / 1000;
    h.t.push(now);
    for (const name of Object.keys(values))
      if (!h.series.has(name)) h.series.set(name, new Array(h.t.length - 1).fill(null));
    for (const [name, arr] of h.series) arr.push(name in values ? values[name] : null);
    let drop = 0;
    while (drop < h.t.length && h.t[drop] < now - HISTORY_SECONDS) drop++;
    if (drop > 0) {
      h.t.splice(0, drop);
      for (const arr of h.series.values()) arr.splice(0, drop);
    }
  }
}
