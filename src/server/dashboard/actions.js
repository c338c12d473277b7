// Operator actions: acknowledge an incident, silence a stream or an incident type, end a silence.
// Mutations go through the API with the bearer token when the server asks for one: on a 401 the
// token dialog opens, the token is kept in this browser (localStorage), and the call is retried.

import { el, fmtTime, replaceChildren } from './format.js';

const TOKEN_KEY = 'vigil:token';
const OPERATOR_KEY = 'vigil:operator';

const $ = (id) => /** @type {any} */ (document.getElementById(id));

/**
 * Opens a <dialog> and resolves with its form's values on submit, or null on cancel / Escape.
 * @param {HTMLDialogElement} dialog
 * @returns {Promise<FormData | null>}
 */
function ask(dialog) {
  const form = /** @type {HTMLFormElement} */ (dialog.querySelector('form'));
  const error = dialog.querySelector('.dialog-error');
  if (error) error.hidden = true;
  return new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('close', onClose);
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const data = new FormData(form);
      dialog.close('ok');
      done(data);
    };
    const onClose = () => done(null);
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    const first = /** @type {HTMLElement | null} */ (dialog.querySelector('[autofocus], input, select, button'));
    first?.focus();
  });
}

/** Shows a short message in the page's live region. */
function say(text, kind = 'ok') {
  const out = $('action-status');
  out.textContent = text;
  out.dataset.kind = kind;
}

/**
 * A mutating API call. Returns the parsed JSON (or null for 204); throws with the API's message.
 * @param {string} method @param {string} url @param {unknown} [body]
 */
export async function send(method, url, body) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const token = localStorage.getItem(TOKEN_KEY);
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 401) {
      const form = await ask($('token-dialog'));
      const next = String(form?.get('token') ?? '').trim();
      if (!next) throw new Error('an API token is needed for this action');
      localStorage.setItem(TOKEN_KEY, next);
      continue;
    }
    if (res.status === 204) return null;
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = json?.error;
      throw new Error(err ? `${err.message}${err.details?.length ? ` (${err.details.join('; ')})` : ''}` : `HTTP ${res.status}`);
    }
    return json;
  }
  throw new Error('the API token was refused');
}

/**
 * @param {import('./store.js').Store} store
 */
export function createActions(store) {
  // Cancel buttons (no inline handlers: the page's CSP forbids them). Escape closes a dialog too.
  for (const b of document.querySelectorAll('dialog .btn-cancel')) {
    b.addEventListener('click', () => /** @type {HTMLDialogElement} */ (b.closest('dialog')).close());
  }
  const list = $('silences');
  const empty = $('silences-empty');

  async function refreshSilences() {
    try {
      const res = await fetch('/api/silences', { headers: { accept: 'application/json' } });
      if (!res.ok) return;
      renderSilences(await res.json());
    } catch {
      // The next refresh tries again.
    }
  }

  function describe(s) {
    const parts = [];
    if (s.stream) parts.push(`stream ${store.streams.get(s.stream)?.name ?? s.stream}`);
    if (s.tag) parts.push(`tag ${s.tag}`);
    if (s.type) parts.push(`type ${s.type}`);
    return parts.join(' · ');
  }

  function renderSilences(items) {
    replaceChildren(
      list,
      ...items.map((s) =>
        el(
          'li',
          { class: `silence state-${s.state}`, dataset: { id: s.id, state: s.state } },
          el('strong', {}, describe(s)),
          ' ',
          el('span', { class: 'badge' }, s.state === 'pending' ? 'maintenance window' : s.state),
          el(
            'span',
            { class: 'muted' },
            ` ${fmtTime(s.startsAt)} → ${fmtTime(s.endsAt)}`,
            s.comment ? ` · ${s.comment}` : '',
            s.createdBy ? ` · by ${s.createdBy}` : '',
          ),
          s.source === 'api'
            ? el(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-small',
                  'aria-label': `End silence of ${describe(s)} now`,
                  onclick: () => void endSilence(s),
                },
                'End now',
              )
            : el('span', { class: 'muted' }, ' (config file)'),
        ),
      ),
    );
    empty.hidden = items.length > 0;
  }

  async function endSilence(s) {
    try {
      await send('DELETE', `/api/silences/${encodeURIComponent(s.id)}`);
      say(`Silence of ${describe(s)} ended.`);
    } catch (err) {
      say(`Could not end the silence: ${err.message}`, 'error');
    }
    await refreshSilences();
  }

  /** @param {any} inc */
  async function acknowledge(inc) {
    const dialog = $('ack-dialog');
    dialog.querySelector('[name="by"]').value = localStorage.getItem(OPERATOR_KEY) ?? '';
    dialog.querySelector('[name="note"]').value = '';
    $('ack-what').textContent = `${inc.type} on ${store.streams.get(inc.streamId)?.name ?? inc.streamId}`;
    const form = await ask(dialog);
    if (!form) return;
    const by = String(form.get('by') ?? '').trim();
    const note = String(form.get('note') ?? '').trim();
    localStorage.setItem(OPERATOR_KEY, by);
    try {
      const updated = await send('POST', `/api/incidents/${encodeURIComponent(inc.id)}/ack`, {
        by,
        ...(note ? { note } : {}),
      });
      store.incident(updated);
      say(`Acknowledged ${inc.type} on ${inc.streamId}.`);
    } catch (err) {
      say(`Could not acknowledge: ${err.message}`, 'error');
    }
  }

  /**
   * @param {{ stream: string, type?: string }} target a stream, and an incident type when silencing from an incident
   */
  async function silence(target) {
    const dialog = $('silence-dialog');
    const name = store.streams.get(target.stream)?.name ?? target.stream;
    const typeOption = dialog.querySelector('[value="type"]');
    typeOption.disabled = !target.type;
    dialog.querySelector('[value="stream"]').checked = true;
    $('silence-type-label').textContent = target.type ? `Only ${target.type} on ${name}` : 'Only one incident type (open it from an incident)';
    $('silence-stream-label').textContent = `Everything on ${name}`;
    dialog.querySelector('[name="comment"]').value = '';
    const form = await ask(dialog);
    if (!form) return;
    const scope = form.get('scope');
    const body = {
      stream: target.stream,
      ...(scope === 'type' && target.type ? { type: target.type } : {}),
      duration: Number(form.get('duration')),
      ...(String(form.get('comment') ?? '').trim() ? { comment: String(form.get('comment')).trim() } : {}),
      ...(localStorage.getItem(OPERATOR_KEY) ? { createdBy: localStorage.getItem(OPERATOR_KEY) } : {}),
    };
    try {
      const s = await send('POST', '/api/silences', body);
      say(`Silenced ${describe(s)} until ${fmtTime(s.endsAt)}.`);
    } catch (err) {
      say(`Could not silence: ${err.message}`, 'error');
    }
    await refreshSilences();
  }

  void refreshSilences();
  setInterval(() => void refreshSilences(), 15_000);
  return { acknowledge, silence, refreshSilences };
}
