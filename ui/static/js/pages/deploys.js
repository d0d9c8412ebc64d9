// Deploys (/deploys): the deploys recorded in the time range, newest
// first, with the impact each had on its service's SLOs, filtered by
// service and author (both kept in the URL).

import { getJSON, isAbort, latestOnly, query, settle } from '../api.js';
import { debounce, errorBox, html, markRendered, setHTML } from '../html.js';
import { dash, dateTime, fullDateTime, percent, words } from '../format.js';
import { bounds, describe, writeURL } from '../timerange.js';

const impacts = ['degraded', 'neutral', 'improved', 'pending'];

function skeleton(filters) {
  return html`
    <div class="page-head"><h1>Deploys</h1><p class="page-sub" id="deploys-range"></p></div>
    <form class="filters" id="deploy-filters" role="search" aria-label="Filter deploys">
      <label class="control"><span class="control-label">Service</span>
        <select id="deploy-service"><option value="">All services</option>${filters.service
    ? html`<option value="${filters.service}" selected>${filters.service}</option>` : ''}</select></label>
      <label class="control grow"><span class="control-label">Author</span>
        <input id="deploy-author" type="search" autocomplete="off" placeholder="Name or email" value="${filters.author}"></label>
      <p class="count" id="deploy-count" role="status" aria-live="polite"></p>
    </form>
    <div id="deploys-error"></div>
    <div class="card">
      <div class="table-wrap"><table class="table">
        <thead><tr><th scope="col">Started</th><th scope="col">Service</th><th scope="col">Env</th><th scope="col">Version</th>
          <th scope="col">Author</th><th scope="col">Status</th><th scope="col">Impact</th><th scope="col">Error ratio before → after</th></tr></thead>
        <tbody id="deploys"><tr><td colspan="8" class="muted">Loading…</td></tr></tbody>
      </table></div>
    </div>`;
}

function readFilters() {
  const q = new URLSearchParams(location.search);
  return { service: q.get('service') || '', author: q.get('author') || '' };
}

function impactClass(d) {
  const c = d.impact_class || 'pending';
  return impacts.includes(c) ? c : c.replace(/[^a-z_]/g, '');
}

// impactDetail says per SLO how the error ratio moved, from the impact
// record stored with the deploy.
function impactDetail(d) {
  const slos = d.impact?.slos || [];
  if (!slos.length) return html`<span class="muted">${dash}</span>`;
  return html`<ul class="plain">${slos.map((s) => html`<li>${s.slo}: ${percent(s.before_error_ratio, 2)} → ${percent(s.after_error_ratio, 2)}</li>`)}</ul>`;
}

function deployRow(d) {
  const impact = impactClass(d);
  const version = d.version || (d.commit ? d.commit.slice(0, 12) : `#${d.id}`);
  return html`<tr data-deploy-id="${d.id}">
    <td title="${fullDateTime(d.started_at)}">${dateTime(d.started_at)}</td>
    <td><a href="/services/${encodeURIComponent(d.service)}">${d.service}</a></td>
    <td>${d.env || dash}</td>
    <td>${d.url ? html`<a href="${d.url}" rel="noopener noreferrer">${version}</a>` : version}
      ${d.message ? html`<div class="muted small">${d.message.split('\n')[0]}</div>` : ''}</td>
    <td>${d.author || dash}</td>
    <td>${words(d.status) || dash}</td>
    <td><span class="impact-badge impact-${impact}" data-impact="${impact}">${words(impact)}</span></td>
    <td>${impactDetail(d)}</td>
  </tr>`;
}

function matchesAuthor(d, author) {
  return !author || (d.author || '').toLowerCase().includes(author.toLowerCase());
}

export function mount({ root, time }) {
  const filters = readFilters();
  setHTML(root, skeleton(filters));
  const $ = (sel) => root.querySelector(sel);
  const serviceSelect = $('#deploy-service');
  const authorInput = $('#deploy-author');
  let servicesLoaded = false;
  const nextSignal = latestOnly();

  async function loadServices() {
    try {
      const body = await getJSON('/services');
      const names = (body.services || []).map((s) => s.name);
      setHTML(serviceSelect, [html`<option value="">All services</option>`,
        names.map((n) => html`<option value="${n}" ${n === filters.service ? 'selected' : ''}>${n}</option>`)]);
      servicesLoaded = true;
    } catch (err) {
      setHTML($('#deploys-error'), errorBox(err, 'services unavailable'));
    }
  }

  async function load() {
    const signal = nextSignal();
    const range = bounds(time.state);
    const got = await settle({
      deploys: getJSON(`/deploys${query({
        service: filters.service,
        author: filters.author,
        since: new Date(range.from * 1000).toISOString(),
        limit: 1000,
      })}`, { signal }),
      services: servicesLoaded ? Promise.resolve() : loadServices(),
    });
    if (signal.aborted || isAbort(got.deploys.error)) return;
    $('#deploys-range').textContent = `Deploys started in the ${describe(time.state)}`;
    const tbody = $('#deploys');
    if (got.deploys.error) {
      setHTML(tbody, html`<tr><td colspan="8">${errorBox(got.deploys.error)}</td></tr>`);
      $('#deploy-count').textContent = '';
    } else {
      // The author filter is applied here too, for servers older than ?author=.
      const deploys = (got.deploys.value.deploys || []).filter((d) => matchesAuthor(d, filters.author)
        && Date.parse(d.started_at) / 1000 <= range.to);
      setHTML(tbody, deploys.length ? deploys.map(deployRow)
        : html`<tr><td colspan="8" class="muted">No deploys match.</td></tr>`);
      $('#deploy-count').textContent = `${deploys.length} deploy${deploys.length === 1 ? '' : 's'}`;
    }
    markRendered('deploys');
  }

  function filtersChanged() {
    filters.service = serviceSelect.value;
    filters.author = authorInput.value.trim();
    writeURL({ service: filters.service, author: filters.author });
    load();
  }

  serviceSelect.addEventListener('change', filtersChanged);
  authorInput.addEventListener('input', debounce(filtersChanged, 250));
  $('#deploy-filters').addEventListener('submit', (e) => e.preventDefault());

  load();
  return { refresh: load };
}
