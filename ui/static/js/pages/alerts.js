// Alerts (/alerts): the open alerts (firing or silenced), the recently
// resolved ones, the notification log with each delivery's status, and
// silences, which can be created and expired here with an API token
// (scope alerts:write) that is sent with the request only.

import { deleteJSON, getJSON, isAbort, latestOnly, postJSON, settle } from '../api.js';
import { errorBox, html, markRendered, setHTML } from '../html.js';
import { burn, dash, dateTime, duration, fullDateTime, percent, relativeTime } from '../format.js';

const silenceDurations = [['1h', '1 hour'], ['2h', '2 hours'], ['4h', '4 hours'], ['1d', '1 day'], ['7d', '7 days']];

function table(id, headings, caption) {
  return html`<div class="table-wrap"><table class="table" aria-label="${caption}">
    <thead><tr>${headings.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
    <tbody id="${id}"><tr><td colspan="${headings.length}" class="muted">Loading…</td></tr></tbody>
  </table></div>`;
}

function skeleton() {
  return html`
    <div class="page-head"><h1>Alerts</h1></div>
    <div id="alerts-error"></div>
    <section class="card" aria-labelledby="firing-heading">
      <h2 id="firing-heading">Open alerts</h2>
      ${table('alerts-firing', ['Severity', 'Service', 'SLOs', 'Started', 'State', 'Told', ''], 'Open alerts')}
    </section>
    <section class="card" aria-labelledby="recent-heading">
      <h2 id="recent-heading">Recently resolved</h2>
      ${table('alerts-recent', ['Severity', 'Service', 'SLOs', 'Started', 'Lasted', 'Budget spent'], 'Recently resolved alerts')}
    </section>
    <section class="card" aria-labelledby="notifications-heading">
      <h2 id="notifications-heading">Notification log</h2>
      ${table('notifications', ['Created', 'Receiver', 'Kind', 'Status', 'Attempts', 'Summary', 'Last error'], 'Notification log')}
    </section>
    <div class="cards">
      <section class="card" aria-labelledby="silences-heading">
        <h2 id="silences-heading">Silences</h2>
        ${table('silences', ['Service', 'SLO', 'State', 'Ends', 'Reason', 'By', ''], 'Active and pending silences')}
        <details class="expired"><summary>Expired silences</summary>
          ${table('silences-expired', ['Service', 'SLO', 'Ended', 'Reason', 'By'], 'Expired silences')}
        </details>
      </section>
      <section class="card" aria-labelledby="silence-form-heading">
        <h2 id="silence-form-heading">New silence</h2>
        <form id="silence-form" class="stack" novalidate>
          <p class="hint" id="silence-hint">Holds a service's alerts (or one SLO's) back for a while. Creating and expiring
            silences needs an API token with scope alerts:write; it stays in this field only and is never stored.</p>
          <label class="field"><span>Service</span><select id="silence-service"></select></label>
          <label class="field"><span>SLO (empty for all)</span>
            <input id="silence-slo" type="text" list="silence-slo-options" autocomplete="off"></label>
          <datalist id="silence-slo-options"></datalist>
          <label class="field"><span>Duration</span>
            <select id="silence-duration">${silenceDurations.map(([v, l]) => html`<option value="${v}" ${v === '2h' ? 'selected' : ''}>${l}</option>`)}</select></label>
          <label class="field"><span>Reason</span>
            <input id="silence-reason" type="text" autocomplete="off" aria-describedby="silence-hint"></label>
          <label class="field"><span>API token</span>
            <input id="silence-token" type="password" autocomplete="off" spellcheck="false"></label>
          <div><button type="submit" class="button primary">Create silence</button></div>
          <p id="silence-result" class="result" role="status" aria-live="polite"></p>
        </form>
      </section>
    </div>`;
}

function serviceLink(name) {
  return html`<a href="/services/${encodeURIComponent(name)}">${name}</a>`;
}

function sloList(alert) {
  return html`<ul class="plain">${(alert.slos || []).map((s) => html`<li>
    <a href="/services/${encodeURIComponent(alert.service)}/slos/${encodeURIComponent(s.slo)}">${s.slo}</a>
    <span class="muted">burn ${burn(s.longBurn)} / ${burn(s.shortBurn)}, ${percent(s.remainingRatio)} left</span></li>`)}</ul>`;
}

function emptyRow(columns, text) {
  return html`<tr><td colspan="${columns}" class="muted">${text}</td></tr>`;
}

function openAlertRows(alerts) {
  if (!alerts.length) return emptyRow(7, 'No alert is firing.');
  return alerts.map((a) => html`<tr data-alert-key="${a.key}">
    <td><span class="severity severity-${a.severity}">${a.severity}</span></td>
    <td>${serviceLink(a.service)}</td>
    <td>${sloList(a)}</td>
    <td title="${fullDateTime(a.started)}">${relativeTime(a.started)}</td>
    <td><span class="state state-${a.state}">${a.state}</span>${a.silencedBy ? html` <span class="muted">by silence ${a.silencedBy}</span>` : ''}</td>
    <td>${(a.receivers || []).join(', ') || dash}${a.repeats ? html` <span class="muted">(${a.repeats} reminders)</span>` : ''}</td>
    <td>${a.state === 'firing' ? html`<button type="button" class="button small silence-alert" data-silence-service="${a.service}"
      data-slos="${(a.slos || []).map((s) => s.slo).join(',')}" aria-label="Silence the ${a.severity} for ${a.service}">Silence…</button>` : ''}</td>
  </tr>`);
}

function spentOf(alert) {
  return (alert.slos || []).reduce((sum, s) => sum + (s.spent || 0), 0);
}

function resolvedAlertRows(alerts) {
  if (!alerts.length) return emptyRow(6, 'No alert resolved recently.');
  return alerts.map((a) => html`<tr data-alert-key="${a.key}">
    <td><span class="severity severity-${a.severity}">${a.severity}</span></td>
    <td>${serviceLink(a.service)}</td>
    <td>${sloList(a)}</td>
    <td title="${fullDateTime(a.started)}">${dateTime(a.started)}</td>
    <td>${a.resolved ? duration((Date.parse(a.resolved) - Date.parse(a.started)) / 1000) : dash}</td>
    <td>${percent(spentOf(a))}</td>
  </tr>`);
}

function notificationRows(notifications) {
  if (!notifications.length) return emptyRow(7, 'Nothing sent yet.');
  return notifications.map((n) => html`<tr data-notification-id="${n.id}">
    <td title="${fullDateTime(n.created_at)}">${dateTime(n.created_at)}</td>
    <td>${n.receiver}</td>
    <td>${n.kind}</td>
    <td><span class="delivery delivery-${n.status}">${n.status}</span></td>
    <td>${n.attempts}</td>
    <td>${n.message?.summary || n.dedup_key}</td>
    <td class="error-text">${n.last_error || ''}</td>
  </tr>`);
}

function silenceRows(silences) {
  if (!silences.length) return emptyRow(7, 'No active silence.');
  return silences.map((s) => html`<tr data-silence-id="${s.id}">
    <td>${serviceLink(s.service)}</td>
    <td>${s.slo || html`<span class="muted">all</span>`}</td>
    <td><span class="state state-${s.state}">${s.state}</span></td>
    <td title="${fullDateTime(s.endsAt)}">${dateTime(s.endsAt)} <span class="muted">(${relativeTime(s.endsAt)})</span></td>
    <td>${s.reason || dash}</td>
    <td>${s.author || dash}</td>
    <td><button type="button" class="button small expire-silence" aria-label="Expire silence ${s.id} of ${s.service}">Expire</button></td>
  </tr>`);
}

function expiredSilenceRows(silences) {
  if (!silences.length) return emptyRow(5, 'None.');
  return silences.map((s) => html`<tr data-expired-silence-id="${s.id}">
    <td>${s.service}</td><td>${s.slo || 'all'}</td>
    <td title="${fullDateTime(s.expiredAt || s.endsAt)}">${dateTime(s.expiredAt || s.endsAt)}</td>
    <td>${s.reason || dash}</td><td>${s.expiredBy || s.author || dash}</td>
  </tr>`);
}

function fill(tbody, result, rows, columns) {
  setHTML(tbody, result.error ? html`<tr><td colspan="${columns}">${errorBox(result.error)}</td></tr>` : rows(result.value));
}

export function mount({ root }) {
  setHTML(root, skeleton());
  const $ = (sel) => root.querySelector(sel);
  const form = $('#silence-form');
  const result = $('#silence-result');
  const serviceSelect = $('#silence-service');
  let services = [];
  const nextSignal = latestOnly();

  function fillServiceOptions() {
    const selected = serviceSelect.value;
    setHTML(serviceSelect, services.map((s) => html`<option value="${s.name}" ${s.name === selected ? 'selected' : ''}>${s.name}</option>`));
    fillSLOOptions();
  }

  function fillSLOOptions() {
    const svc = services.find((s) => s.name === serviceSelect.value);
    setHTML($('#silence-slo-options'), (svc?.slos || []).map((o) => html`<option value="${o.name}"></option>`));
  }

  async function load() {
    const signal = nextSignal();
    const got = await settle({
      alerts: getJSON('/alerts', { signal }),
      notifications: getJSON('/notifications?limit=100', { signal }),
      silences: getJSON('/silences?state=all&limit=200', { signal }),
      services: services.length ? Promise.resolve({ services }) : getJSON('/services', { signal }),
    });
    if (signal.aborted || Object.values(got).some((r) => isAbort(r.error))) return;
    const alerts = got.alerts.value?.alerts || [];
    const open = { ...got.alerts, value: alerts.filter((a) => a.state !== 'resolved') };
    const resolved = { ...got.alerts, value: alerts.filter((a) => a.state === 'resolved') };
    fill($('#alerts-firing'), open, openAlertRows, 7);
    fill($('#alerts-recent'), resolved, resolvedAlertRows, 6);
    fill($('#notifications'), { ...got.notifications, value: got.notifications.value?.notifications }, notificationRows, 7);
    const silences = got.silences.value?.silences || [];
    fill($('#silences'), { ...got.silences, value: silences.filter((s) => s.state !== 'expired') }, silenceRows, 7);
    fill($('#silences-expired'), { ...got.silences, value: silences.filter((s) => s.state === 'expired') }, expiredSilenceRows, 5);
    if (got.services.value && !services.length) {
      services = got.services.value.services || [];
      fillServiceOptions();
    }
    setHTML($('#alerts-error'), got.services.error ? errorBox(got.services.error, 'services unavailable') : '');
    markRendered('alerts');
  }

  function showResult(ok, text) {
    result.className = `result ${ok ? 'ok' : 'error'}`;
    result.textContent = text;
  }

  async function createSilence(e) {
    e.preventDefault();
    const token = $('#silence-token');
    const body = {
      service: serviceSelect.value,
      slo: $('#silence-slo').value.trim(),
      duration: $('#silence-duration').value,
      reason: $('#silence-reason').value,
    };
    showResult(true, 'Sending…');
    try {
      const s = await postJSON('/silences', body, token.value);
      showResult(true, `silence ${s.id} active until ${fullDateTime(s.endsAt)}`);
      $('#silence-reason').value = '';
      load();
    } catch (err) {
      showResult(false, err.message);
    }
  }

  async function expireSilence(button) {
    const row = button.closest('[data-silence-id]');
    const token = $('#silence-token');
    if (!token.value) {
      showResult(false, 'Enter an API token with scope alerts:write (in the form) to expire a silence.');
      token.focus();
      return;
    }
    button.disabled = true;
    try {
      await deleteJSON(`/silences/${row.dataset.silenceId}`, token.value);
      showResult(true, `silence ${row.dataset.silenceId} expired`);
      load();
    } catch (err) {
      button.disabled = false;
      showResult(false, err.message);
    }
  }

  // prefillSilence fills the form to silence an open alert's service (and
  // its SLO, when only one is involved).
  function prefillSilence(button) {
    serviceSelect.value = button.dataset.silenceService;
    fillSLOOptions();
    const slos = button.dataset.slos.split(',').filter(Boolean);
    $('#silence-slo').value = slos.length === 1 ? slos[0] : '';
    $('#silence-reason').focus();
  }

  form.addEventListener('submit', createSilence);
  $('#alerts-firing').addEventListener('click', (e) => {
    const button = e.target.closest('button.silence-alert');
    if (button) prefillSilence(button);
  });
  serviceSelect.addEventListener('change', fillSLOOptions);
  $('#silences').addEventListener('click', (e) => {
    const button = e.target.closest('button.expire-silence');
    if (button) expireSilence(button);
  });

  load();
  return { refresh: load };
}
