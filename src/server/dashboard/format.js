// Small DOM and formatting helpers. Text always goes in through text nodes, never as HTML.

/**
 * Creates an element. attrs: `class`, `dataset` (object), `on*` (listeners) or attributes;
 * children: nodes or strings (as text); null/undefined/false are skipped.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = String(v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function')
      node.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

/** @param {Node} node @param {Array<Node | string | null | undefined | false>} children */
export function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replaces an element's children. @param {Element} node @param {...(Node | string | null | undefined | false)} children */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

const pad = (n) => String(n).padStart(2, '0');

/** Local wall-clock time, with the date when it is not today. @param {string | undefined | null} iso */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** "0.8 s", "12 s", "3 min 05 s", "2 h 03 min". @param {number} ms */
export function fmtDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${pad(Math.floor(s % 60))} s`;
  return `${Math.floor(m / 60)} h ${pad(m % 60)} min`;
}

/** A number for people: 3 significant digits, no exponent for the usual ranges. @param {unknown} v */
export function fmtValue(v) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 0.01 ? v.toFixed(2) : v.toPrecision(2);
  }
  return String(v);
}

/** @param {number | null | undefined} bps */
export function fmtBitrate(bps) {
  if (bps === null || bps === undefined || !Number.isFinite(bps)) return '—';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kbit/s`;
  return `${bps.toFixed(0)} bit/s`;
}

/** @param {number | null | undefined} fps */
export function fmtFps(fps) {
  return fps === null || fps === undefined || !Number.isFinite(fps) ? '— fps' : `${fps.toFixed(1)} fps`;
}

/** Incident length: media time when closed (the defect's own length), else wall time so far. */
export function incidentDuration(inc, now = Date.now()) {
  if (inc.state === 'closed') {
    if (typeof inc.end === 'number') return (inc.end - inc.start) * 1000;
    if (inc.closedAt) return Date.parse(inc.closedAt) - Date.parse(inc.openedAt);
  }
  return now - Date.parse(inc.openedAt);
}

const SEVERITY_RANK = { critical: 3, major: 2, minor: 1 };

/** The worst severity among incidents, or '' when none. */
export function worstSeverity(incidents) {
  let worst = '';
  for (const i of incidents) if ((SEVERITY_RANK[i.severity] ?? 0) > (SEVERITY_RANK[worst] ?? 0)) worst = i.severity;
  return worst;
}

/** Readable incident type: "signal_loss" → "signal loss", plus the channel when there is one. */
export function incidentLabel(inc) {
  const type = String(inc.type).replace(/_/g, ' ');
  return inc.channel ? `${type} (${inc.channel})` : type;
}

/** The state words shown to people. */
export const STATE_LABEL = {
  live: 'live',
  connecting: 'connecting',
  lost: 'signal lost',
  ended: 'ended',
  stopped: 'stopped',
};
