// Overview (/): every service with its gate decision, each SLO's remaining
// budget as a bar, SLI against objective, 1h burn, firing alerts, team and
// on-call developer. One request per endpoint however many services there
// are; searching, filtering and sorting happen here, and the list is drawn
// as one HTML string (a thousand rows draw in a few milliseconds).

import { fetchGateSummary, fetchOnCall, getJSON, isAbort, latestOnly, settle } from '../api.js';
import { debounce, errorBox, html, markRendered, setHTML } from '../html.js';
import { budgetLevel, burn, dash, decisionLabel, objective, percent, sliPercent } from '../format.js';
import { writeURL } from '../timerange.js';

const statuses = [
  ['', 'All statuses'],
  ['ship', 'Ship'],
  ['slow_down', 'Slow down'],
  ['firing', 'Alert firing'],
  ['no_data', 'No data'],
];
const sorts = [
  ['name', 'Name'],
  ['budget-asc', 'Least budget left'],
  ['budget-desc', 'Most budget left'],
];

function options(list, selected) {
  return list.map(([value, label]) => html`<option value="${value}" ${value === selected ? 'selected' : ''}>${label}</option>`);
}

function skeleton(filters) {
  return html`
    <div class="page-head">
      <h1>Services</h1>
      <p class="page-sub" id="evaluated-at"></p>
    </div>
    <div class="stats" id="stats" aria-label="Summary"></div>
    <div id="notices"></div>
    <form class="filters" id="filters" role="search" aria-label="Filter services">
      <label class="control grow"><span class="control-label">Search</span>
        <input id="search" type="search" placeholder="Service, team or on-call person" autocomplete="off" value="${filters.q}"></label>
      <label class="control"><span class="control-label">Team</span>
        <select id="team"><option value="">All teams</option></select></label>
      <label class="control"><span class="control-label">Status</span>
        <select id="status">${options(statuses, filters.status)}</select></label>
      <label class="control"><span class="control-label">Sort</span>
        <select id="sort">${options(sorts, filters.sort)}</select></label>
      <p class="count" id="service-count" role="status" aria-live="polite"></p>
    </form>
    <div class="service-table">
      <div class="service-header" aria-hidden="true">
        <span>Service</span><span>Gate</span><span>SLOs: budget left · SLI / objective · 1h burn</span><span>Alerts</span><span>On call</span>
      </div>
      <ul id="services" class="service-list" aria-label="Services"></ul>
    </div>`;
}

function readFilters() {
  const q = new URLSearchParams(location.search);
  const status = q.get('status') || '';
  const sort = q.get('sort') || 'name';
  return {
    q: q.get('q') || '',
    team: q.get('team') || '',
    status: statuses.some(([v]) => v === status) ? status : '',
    sort: sorts.some(([v]) => v === sort) ? sort : 'name',
  };
}

function burnOf(slo, window) {
  return (slo.burnRates || []).find((b) => b.window === window)?.rate ?? null;
}

// lowestRemaining is the smallest remaining budget among SLOs with data,
// or null when none has data.
function lowestRemaining(service) {
  let low = null;
  for (const slo of service.slos || []) {
    const r = slo.budget?.remainingRatio;
    if (slo.budget?.noData || typeof r !== 'number') continue;
    if (low === null || r < low) low = r;
  }
  return low;
}

// The overview draws thousands of SLO lines at once, so they carry as few
// elements and attributes as will do, and no whitespace between elements
// (parts are joined from arrays): the column header says what the numbers
// are.

function budgetBar(slo) {
  const b = slo.budget || {};
  const ratio = b.remainingRatio;
  const level = budgetLevel(ratio, b.noData);
  const width = typeof ratio === 'number' ? Math.min(100, Math.max(0, ratio * 100)) : 0;
  return [
    // The bar is decoration: the percentage after it says the same to
    // screen readers.
    html`<div class="budget-bar level-${level}" data-slo="${slo.name}" aria-hidden="true">`,
    html`<span class="budget-fill" style="width:${width.toFixed(1)}%"></span></div>`,
    html`<span class="budget-value level-text-${level}">${b.noData ? 'no data' : percent(ratio)}</span>`,
  ];
}

function sloLine(service, slo) {
  const href = `/services/${encodeURIComponent(service.name)}/slos/${encodeURIComponent(slo.name)}`;
  const sli = slo.budget?.sli;
  const below = typeof sli === 'number' && sli * 100 < slo.objective;
  return html`<div class="slo-line">${[
    html`<a class="slo-name" href="${href}">${slo.name}</a>`,
    budgetBar(slo),
    html`<span class="sli${below ? ' below' : ''}">${sliPercent(sli)} / ${objective(slo.objective)}</span>`,
    html`<span class="burn-1h">${burn(burnOf(slo, '1h'))}</span>`,
  ]}</div>`;
}

function gateBadge(verdict) {
  if (!verdict) return html`<span class="gate-badge gate-unknown" title="no gate verdict">unknown</span>`;
  const title = verdict.reasons?.length ? verdict.reasons.join('\n') : null;
  return html`<span class="gate-badge gate-${verdict.decision}"${title ? html` title="${title}"` : ''}>${decisionLabel(verdict.decision)}</span>`;
}

function alertsCell(counts) {
  if (!counts) return html`<span class="alerts-count unknown" title="alerts unavailable">${dash}</span>`;
  return html`<span class="alerts-count${counts.firing ? ' has-alerts' : ''}">${counts.firing}</span>${counts.silenced ? html` <span class="muted small">+${counts.silenced} silenced</span>` : ''}`;
}

function serviceRow(s) {
  const { name, team, slos } = s.service;
  return html`<li class="service-row" data-service="${name}">${[
    html`<div class="svc-name-cell"><a class="svc-name" href="/services/${encodeURIComponent(name)}">${name}</a><span class="team">${team}</span></div>`,
    html`<div class="svc-gate">${gateBadge(s.verdict)}</div>`,
    html`<div class="svc-slos">${(slos || []).map((slo) => sloLine(s.service, slo))}</div>`,
    html`<div class="svc-alerts">${alertsCell(s.alerts)}</div>`,
    html`<div class="svc-oncall"><span class="oncall">${s.onCall || dash}</span></div>`,
  ]}</li>`.toString();
}

function countAlerts(alerts) {
  const counts = new Map();
  for (const a of alerts) {
    if (a.state !== 'firing' && a.state !== 'silenced') continue;
    const c = counts.get(a.service) || { firing: 0, silenced: 0 };
    c[a.state] += 1;
    counts.set(a.service, c);
  }
  return counts;
}

function onCallByTeam(teams) {
  const out = new Map();
  for (const t of teams) out.set(t.team, t.onCall?.current?.person || '');
  return out;
}

// buildRows joins the four answers into one record per service, with its
// row's HTML and search text prepared once per load.
function buildRows(services, gate, alerts, onCall) {
  const alertCounts = alerts ? countAlerts(alerts) : null;
  return services.map((service) => {
    const row = {
      service,
      verdict: gate?.get(service.name) || null,
      alerts: alertCounts ? alertCounts.get(service.name) || { firing: 0, silenced: 0 } : null,
      onCall: onCall?.get(service.team) || '',
      lowest: lowestRemaining(service),
      // As the API's ?state=no_data: no SLO of the service has data.
      noData: service.state === 'no_data',
    };
    row.search = `${service.name} ${service.team} ${row.onCall}`.toLowerCase();
    row.html = serviceRow(row);
    return row;
  });
}

function matchesStatus(row, status) {
  switch (status) {
    case 'ship':
    case 'slow_down':
      return row.verdict?.decision === status;
    case 'firing':
      return (row.alerts?.firing || 0) > 0;
    case 'no_data':
      return row.noData;
    default:
      return true;
  }
}

function compareRows(sort) {
  const byName = (a, b) => (a.service.name < b.service.name ? -1 : a.service.name > b.service.name ? 1 : 0);
  if (sort === 'name') return byName;
  const sign = sort === 'budget-desc' ? -1 : 1;
  return (a, b) => {
    // Services without data go last either way.
    if (a.lowest === null || b.lowest === null) return (a.lowest === null) - (b.lowest === null) || byName(a, b);
    return sign * (a.lowest - b.lowest) || byName(a, b);
  };
}

function visibleRows(rows, filters) {
  const q = filters.q.trim().toLowerCase();
  return rows
    .filter((r) => (!q || r.search.includes(q))
      && (!filters.team || r.service.team === filters.team)
      && matchesStatus(r, filters.status))
    .sort(compareRows(filters.sort));
}

function stat(label, value, status, level) {
  return html`<button type="button" class="stat level-text-${level}" data-filter-status="${status}">
    <span class="stat-value">${value}</span><span class="stat-label">${label}</span></button>`;
}

function renderStats(el, rows, sources) {
  const count = (fn) => rows.filter(fn).length;
  setHTML(el, [
    stat('services', rows.length, '', 'plain'),
    stat('ship', sources.gate ? count((r) => r.verdict?.decision === 'ship') : dash, 'ship', 'ok'),
    stat('slow down', sources.gate ? count((r) => r.verdict?.decision === 'slow_down') : dash, 'slow_down', 'low'),
    stat('with alerts firing', sources.alerts ? count((r) => r.alerts?.firing > 0) : dash, 'firing', 'warn'),
    stat('without data', count((r) => r.noData), 'no_data', 'nodata'),
  ]);
}

function teamOptions(select, rows, selected) {
  const teams = [...new Set(rows.map((r) => r.service.team))].sort();
  if (selected && !teams.includes(selected)) teams.push(selected);
  setHTML(select, [html`<option value="">All teams</option>`, options(teams.map((t) => [t, t]), selected)]);
}

function notice(what, err) {
  return errorBox(err, `${what} unavailable`);
}

export function mount({ root }) {
  const filters = readFilters();
  setHTML(root, skeleton(filters));
  const el = {
    list: root.querySelector('#services'),
    count: root.querySelector('#service-count'),
    stats: root.querySelector('#stats'),
    notices: root.querySelector('#notices'),
    evaluatedAt: root.querySelector('#evaluated-at'),
    search: root.querySelector('#search'),
    team: root.querySelector('#team'),
    status: root.querySelector('#status'),
    sort: root.querySelector('#sort'),
  };
  let rows = [];
  let firstDraw = true;
  const nextSignal = latestOnly();

  function draw() {
    const visible = visibleRows(rows, filters);
    el.list.innerHTML = visible.map((r) => r.html).join('');
    el.count.textContent = `${visible.length} of ${rows.length} services`;
    if (firstDraw) {
      firstDraw = false;
      requestAnimationFrame(() => {
        window.slogateTimings = { barsDrawn: performance.now() };
      });
    }
    markRendered('overview');
  }

  function filtersChanged() {
    Object.assign(filters, {
      q: el.search.value, team: el.team.value, status: el.status.value, sort: el.sort.value,
    });
    writeURL({ q: filters.q, team: filters.team, status: filters.status, sort: filters.sort === 'name' ? '' : filters.sort });
    draw();
  }

  async function load() {
    const signal = nextSignal();
    const services = getJSON('/services', { signal });
    const names = services.then((b) => b.services.map((s) => s.name), () => []);
    const teams = services.then((b) => [...new Set(b.services.map((s) => s.team))], () => []);
    const got = await settle({
      services,
      gate: fetchGateSummary(names, signal),
      alerts: getJSON('/alerts', { signal }),
      onCall: fetchOnCall(teams, signal),
    });
    if (signal.aborted) return;
    const notices = [];
    if (got.services.error) {
      if (isAbort(got.services.error)) return;
      setHTML(el.list, html`<li>${errorBox(got.services.error, 'cannot load services')}</li>`);
      el.count.textContent = '';
      markRendered('overview');
      return;
    }
    for (const [key, what] of [['gate', 'gate decisions'], ['alerts', 'alerts'], ['onCall', 'on-call']]) {
      if (got[key].error && !isAbort(got[key].error)) notices.push(notice(what, got[key].error));
    }
    setHTML(el.notices, notices);
    const body = got.services.value;
    rows = buildRows(
      body.services || [],
      got.gate.value || null,
      got.alerts.value?.alerts || null,
      got.onCall.value ? onCallByTeam(got.onCall.value) : null,
    );
    el.evaluatedAt.textContent = body.evaluatedAt ? `Budgets evaluated at ${new Date(body.evaluatedAt).toLocaleString()}` : '';
    renderStats(el.stats, rows, { gate: !!got.gate.value, alerts: !!got.alerts.value });
    teamOptions(el.team, rows, filters.team);
    draw();
  }

  el.search.addEventListener('input', debounce(filtersChanged, 60));
  for (const select of [el.team, el.status, el.sort]) select.addEventListener('change', filtersChanged);
  root.querySelector('#filters').addEventListener('submit', (e) => e.preventDefault());
  el.stats.addEventListener('click', (e) => {
    const button = e.target.closest('[data-filter-status]');
    if (!button) return;
    el.status.value = button.dataset.filterStatus;
    filtersChanged();
  });

  load();
  return { refresh: load };
}
