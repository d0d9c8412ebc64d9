// Service page (/services/<name>, /services/<name>/slos/<slo>): the gate's
// status with its reasons, history and override form, and per SLO three
// panels over the chosen time range: the error budget's burn-down against
// the ideal straight line, the SLI against its objective, and burn rates
// against the alert thresholds. Deploys are markers on every panel,
// off-hours are shaded, and the crosshair moves on all panels together.
// Last, the service's spec and its change history (spec.js).

import { fetchRules, getJSON, isAbort, latestOnly, postJSON, deleteJSON, query, settle } from '../api.js';
import { errorBox, html, markRendered, setHTML } from '../html.js';
import {
  budgetLevel, burn, dash, dateTime, decisionLabel, duration, fullDateTime, objective, percent, relativeTime,
  sliPercent, words,
} from '../format.js';
import { TimeChart, nullable } from '../charts.js';
import { bounds, describe, seriesParams } from '../timerange.js';
import { budgetWindow, idealBurnDown } from '../windows.js';
import { fetchSpec, specPanel, specSection } from './spec.js';

// The burn rates drawn, with their colours: the windows of the default
// page rules (1h & 5m, 6h & 30m).
const burnColors = { '5m': '--chart-3', '30m': '--chart-4', '1h': '--chart-1', '6h': '--chart-2' };

function path(service, ...rest) {
  return ['', 'services', service, ...rest].map(encodeURIComponent).join('/');
}

function skeleton(name) {
  return html`
    <div class="page-head">
      <p class="breadcrumb"><a href="/">Services</a> / </p>
      <h1 id="service-title">${name}</h1>
      <p class="page-sub" id="service-meta"></p>
    </div>
    <div id="service-error"></div>
    <div class="cards">
      <section class="card" aria-labelledby="gate-heading">
        <h2 id="gate-heading">Release gate</h2>
        <div id="gate-status"><p class="muted">Loading…</p></div>
      </section>
      <section class="card" aria-labelledby="override-heading">
        <h2 id="override-heading">Override the gate</h2>
        <form id="override-form" class="stack" novalidate>
          <p class="hint" id="override-hint">Lets every deploy through for a while although the budget says slow down.
            Needs an API token with scope gate:override; it stays in this field only and is never stored.</p>
          <label class="field"><span>Reason</span>
            <input id="override-reason" type="text" maxlength="4096" autocomplete="off" aria-describedby="override-hint"
              placeholder="e.g. hotfix for INC-123 must ship"></label>
          <label class="field"><span>Duration</span>
            <select id="override-duration">
              <option value="1h">1 hour</option><option value="4h">4 hours</option><option value="24h">24 hours</option>
            </select></label>
          <label class="field"><span>API token</span>
            <input id="override-token" type="password" autocomplete="off" spellcheck="false"></label>
          <div><button type="submit" class="button primary">Override gate</button></div>
          <p id="override-result" class="result" role="status" aria-live="polite"></p>
        </form>
      </section>
    </div>
    <p class="range-note" id="range-note"></p>
    <div id="slos" class="slos"></div>
    <div class="cards">
      <section class="card" aria-labelledby="deploys-heading">
        <h2 id="deploys-heading">Deploys in range</h2>
        <div id="service-deploys"></div>
      </section>
      <section class="card" aria-labelledby="history-heading">
        <h2 id="history-heading">Gate decision history</h2>
        <div class="table-wrap">
          <table id="gate-history" class="table">
            <thead><tr><th scope="col">When</th><th scope="col">Decision</th><th scope="col">Reasons</th></tr></thead>
            <tbody></tbody>
          </table>
        </div>
      </section>
    </div>
    ${specSection()}`;
}

// --- gate ---------------------------------------------------------------

function overrideLine(o) {
  if (!o) return '';
  return html`<div class="override-active">
    <p><strong>Override active</strong> until ${dateTime(o.expires_at)} (${relativeTime(o.expires_at)}), by ${o.by || 'unknown'}:
      ${o.reason}</p>
    <button type="button" class="button small" data-end-override="${o.id}">End override</button>
  </div>`;
}

function gateStatus(answer) {
  const blocked = !answer.allowed;
  return html`
    <p class="gate-line">
      <span class="gate-badge gate-${answer.decision} large">${decisionLabel(answer.decision)}</span>
      <span>${blocked ? 'Deploys are held back' : answer.decision === 'slow_down' ? 'Deploys are let through' : 'Deploys may ship'}
        ${answer.enforced ? '' : ' (shadow mode: the gate does not block)'}</span>
    </p>
    ${answer.reasons?.length
    ? html`<ul class="reasons">${answer.reasons.map((r) => html`<li>${r}</li>`)}</ul>`
    : html`<p class="muted">Budget left: nothing slows this service down.</p>`}
    ${answer.warnings?.length ? html`<ul class="warnings">${answer.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ''}
    ${answer.freeze ? html`<p class="warnings">Freeze: ${answer.freeze}</p>` : ''}
    ${overrideLine(answer.override)}
    <p class="muted small">Evaluated ${relativeTime(answer.evaluated_at)}${answer.policy
    ? ` · slows down below ${percent(answer.policy.min_budget_remaining, 0)} budget left or above ${burn(answer.policy.fast_burn_rate)} burn` : ''}</p>`;
}

function historyRows(history) {
  if (!history.length) return html`<tr><td colspan="3" class="muted">No decision recorded yet.</td></tr>`;
  return history.map((h) => html`<tr>
    <td title="${fullDateTime(h.at)}">${dateTime(h.at)}</td>
    <td><span class="gate-badge gate-${h.from}">${decisionLabel(h.from)}</span> → <span class="gate-badge gate-${h.to}">${decisionLabel(h.to)}</span></td>
    <td>${h.reasons?.length ? html`<ul class="plain">${h.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : html`<span class="muted">${dash}</span>`}</td>
  </tr>`);
}

// --- deploys ------------------------------------------------------------

function deploysTable(deploys) {
  if (!deploys.length) return html`<p class="muted">No deploys in this range.</p>`;
  return html`<div class="table-wrap"><table class="table">
    <thead><tr><th scope="col">Started</th><th scope="col">Version</th><th scope="col">Author</th><th scope="col">Status</th><th scope="col">Impact</th></tr></thead>
    <tbody>${deploys.map((d) => html`<tr>
      <td title="${fullDateTime(d.started_at)}">${dateTime(d.started_at)}</td>
      <td>${d.url ? html`<a href="${d.url}" rel="noopener noreferrer">${d.version || d.commit}</a>` : d.version || d.commit || dash}</td>
      <td>${d.author || dash}</td>
      <td>${words(d.status) || dash}</td>
      <td><span class="impact-badge impact-${d.impact_class || 'pending'}">${words(d.impact_class || 'pending')}</span></td>
    </tr>`)}</tbody></table></div>`;
}

// --- SLO sections -------------------------------------------------------

function sloSection(service, slo) {
  const id = `slo-${slo.name}`;
  return html`<section class="slo-section" data-slo="${slo.name}" id="${id}" tabindex="-1" aria-labelledby="${id}-title">
    <header class="slo-head">
      <h2 id="${id}-title"><a href="${path(service, 'slos', slo.name)}">${slo.name}</a></h2>
      <p class="muted slo-desc"></p>
    </header>
    <dl class="slo-stats"></dl>
    <div class="slo-error"></div>
    <div class="panels">
      <figure class="panel panel-burndown"><figcaption>Error budget left vs ideal burn-down</figcaption><div class="chart"></div></figure>
      <figure class="panel panel-sli"><figcaption>SLI vs objective</figcaption><div class="chart"></div></figure>
      <figure class="panel panel-burnrate"><figcaption>Burn rate vs alert thresholds</figcaption><div class="chart"></div>
        <p class="rules-note"></p></figure>
    </div>
  </section>`;
}

function stat(label, value, extra = '') {
  return html`<div class="slo-stat ${extra}"><dt>${label}</dt><dd>${value}</dd></div>`;
}

function burnOf(slo, window) {
  return (slo.burnRates || []).find((b) => b.window === window)?.rate ?? null;
}

function exhaustion(slo) {
  const b = slo.budget || {};
  if (b.noData) return dash;
  if (b.remainingRatio <= 0) return 'already spent';
  const at = slo.forecast?.exhaustedAt1h;
  return at ? `${dateTime(at)} (${relativeTime(at)})` : 'not this window';
}

function freshness(data) {
  if (data?.sourceError) return `source failing: ${data.sourceError}`;
  if (data?.backfilling) return 'loading history';
  const age = data?.ageSeconds;
  if (typeof age !== 'number') return 'none yet';
  return age < 120 ? 'current' : `${duration(age)} old`;
}

function sloStats(slo) {
  const b = slo.budget || {};
  const level = budgetLevel(b.remainingRatio, b.noData);
  return [
    stat('Budget left', b.noData ? 'no data yet' : percent(b.remainingRatio), `level-text-${level}`),
    stat('SLI', `${sliPercent(b.sli)} / ${objective(slo.objective)}`),
    stat('Window', `${slo.window}${slo.budgeting === 'timeslices' ? ', timeslices' : ''}`),
    stat('Burn 1h · 6h', `${burn(burnOf(slo, '1h'))} · ${burn(burnOf(slo, '6h'))}`),
    stat('Runs out at 1h burn', exhaustion(slo)),
    stat('Schedule', slo.schedule?.name
      ? `${slo.schedule.name} (${slo.schedule.active ? 'spending now' : 'off-hours now'})` : 'always'),
    stat('Data', freshness(slo.data), slo.data?.sourceError ? 'level-text-low' : ''),
  ];
}

function formatDuration(v) {
  if (typeof v !== 'number') return String(v ?? '');
  return duration(v / 1e9).replace(/ /g, '');
}

// thresholdLines turns an SLO's alert rules into chart lines, one per
// distinct severity and burn rate.
function thresholdLines(rules) {
  const seen = new Set();
  const lines = [];
  for (const r of rules || []) {
    const key = `${r.severity}/${r.burn}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push({
      value: r.burn,
      kind: r.severity === 'ticket' ? 'ticket' : 'page',
      label: `${r.severity} > ${burn(r.burn)} (${formatDuration(r.long)} & ${formatDuration(r.short)})`,
    });
  }
  return lines;
}

const pct = (v) => v * 100;
const pctLabel = (v) => `${Number(v.toFixed(3))}%`;

function chartData(series, slo, range) {
  const ts = series.timestamps || [];
  const window = budgetWindow(slo.window, ts.length ? ts[ts.length - 1] : range.to, slo.schedule?.timeZone);
  const burnSeries = Object.keys(burnColors).filter((w) => series.burnRates?.[w]);
  return {
    burndown: [ts, nullable(series.budgetRemaining, pct), window ? idealBurnDown(ts, window) : ts.map(() => null)],
    sli: [ts, nullable(series.sli, pct), nullable(series.windowSli, pct), ts.map(() => slo.objective)],
    burnrate: [ts, ...burnSeries.map((w) => series.burnRates[w])],
    burnWindows: burnSeries,
  };
}

function chartSpecs(state, sloName, burnWindowNames, onZoom) {
  const common = {
    deploys: () => state.deploys,
    offHours: () => state.offHours.get(sloName),
    onZoom,
  };
  return {
    burndown: {
      ...common,
      yFormat: (v) => `${Number(v.toFixed(1))}%`,
      yCeil: 100,
      extraY: () => [0, 100],
      series: [
        { label: 'budget left', format: (v) => `${v.toFixed(1)}%`, colorVar: '--chart-1', width: 2 },
        { label: 'ideal', format: (v) => `${v.toFixed(1)}%`, colorVar: '--chart-ideal', dash: [6, 4] },
      ],
    },
    sli: {
      ...common,
      yFormat: pctLabel,
      yCeil: 100,
      extraY: () => [state.objectives.get(sloName)],
      series: [
        { label: 'SLI per step', format: (v) => `${v.toFixed(3)}%`, colorVar: '--chart-2', width: 1 },
        { label: 'SLI over window', format: (v) => `${v.toFixed(3)}%`, colorVar: '--chart-1', width: 2 },
        { label: 'objective', format: (v) => `${v}%`, colorVar: '--chart-objective', dash: [4, 4] },
      ],
    },
    burnrate: {
      ...common,
      yFormat: (v) => `${Number(v.toPrecision(3))}×`,
      yFloor: 0,
      extraY: () => [0, 1, ...(state.thresholds.get(sloName) || []).map((l) => l.value)],
      thresholds: () => state.thresholds.get(sloName),
      series: burnWindowNames.map((w) => ({
        label: `${w} burn`, format: (v) => burn(v), colorVar: burnColors[w],
      })),
    },
  };
}

export function mount({ root, params, time }) {
  const service = params.service;
  setHTML(root, skeleton(service));
  const el = {
    meta: root.querySelector('#service-meta'),
    error: root.querySelector('#service-error'),
    gate: root.querySelector('#gate-status'),
    history: root.querySelector('#gate-history tbody'),
    deploys: root.querySelector('#service-deploys'),
    slos: root.querySelector('#slos'),
    rangeNote: root.querySelector('#range-note'),
    form: root.querySelector('#override-form'),
    result: root.querySelector('#override-result'),
  };
  const specUI = specPanel(root, service);
  // What the charts' annotations read on every redraw.
  const state = { deploys: [], offHours: new Map(), thresholds: new Map(), objectives: new Map() };
  const charts = new Map(); // "slo/panel" -> TimeChart
  let sloNames = '';
  let highlighted = false;
  const nextSignal = latestOnly();
  const onZoom = (from, to) => time.zoomTo(from, to);

  function destroyCharts() {
    for (const c of charts.values()) c.destroy();
    charts.clear();
  }

  function ensureSections(status) {
    const names = status.slos.map((s) => s.name).join('\n');
    if (names === sloNames) return;
    destroyCharts();
    sloNames = names;
    setHTML(el.slos, status.slos.length
      ? status.slos.map((slo) => sloSection(service, slo))
      : html`<p class="muted">This service has no SLOs.</p>`);
  }

  function sectionOf(name) {
    return el.slos.querySelector(`[data-slo="${CSS.escape(name)}"]`);
  }

  function drawSLO(slo, series, rules, range) {
    const section = sectionOf(slo.name);
    if (!section) return;
    section.querySelector('.slo-desc').textContent = slo.description || '';
    setHTML(section.querySelector('.slo-stats'), sloStats(slo));
    const lines = thresholdLines(rules);
    section.querySelector('.rules-note').textContent = rules === undefined
      ? 'Alert thresholds unavailable.' : `Alerts: ${lines.map((l) => l.label).join(' · ') || 'none'}`;
    state.objectives.set(slo.name, slo.objective);
    state.thresholds.set(slo.name, lines);
    if (series.error) {
      setHTML(section.querySelector('.slo-error'), errorBox(series.error, 'cannot load the series'));
      return;
    }
    setHTML(section.querySelector('.slo-error'), '');
    state.offHours.set(slo.name, series.value.offHours || []);
    const data = chartData(series.value, slo, range);
    const specs = chartSpecs(state, slo.name, data.burnWindows, onZoom);
    for (const panel of ['burndown', 'sli', 'burnrate']) {
      const key = `${slo.name}/${panel}`;
      const existing = charts.get(key);
      if (existing && existing.spec.series.length === specs[panel].series.length) {
        existing.spec = specs[panel];
        existing.update(data[panel]);
      } else {
        existing?.destroy();
        const container = section.querySelector(`.panel-${panel} .chart`);
        container.replaceChildren();
        charts.set(key, new TimeChart(container, specs[panel], data[panel]));
      }
    }
  }

  function highlightRequestedSLO(status) {
    if (highlighted || !params.slo) return;
    highlighted = true;
    const section = sectionOf(params.slo);
    if (!section) {
      setHTML(el.error, errorBox(new Error(`service "${service}" has no SLO "${params.slo}"; its SLOs are ${status.slos.map((s) => s.name).join(', ')}`)));
      return;
    }
    section.classList.add('highlight');
    section.focus({ preventScroll: true });
    section.scrollIntoView({ block: 'start' });
  }

  function renderMeta(status, alerts) {
    const firing = (alerts || []).filter((a) => a.state === 'firing');
    setHTML(el.meta, html`team <strong>${status.team}</strong>
      ${status.description ? html` · ${status.description}` : ''}
      ${status.runbook ? html` · <a href="${status.runbook}" rel="noopener noreferrer">runbook</a>` : ''}
      ${firing.length ? html` · <a href="/alerts" class="level-text-low">${firing.length} alert${firing.length > 1 ? 's' : ''} firing</a>` : ''}`);
  }

  async function load() {
    const signal = nextSignal();
    const range = bounds(time.state);
    const s = encodeURIComponent(service);
    const got = await settle({
      status: getJSON(`/services/${s}`, { signal }),
      gate: getJSON(`/gate/${s}`, { signal }),
      history: getJSON(`/gate/${s}/history?limit=50`, { signal }),
      rules: fetchRules(service, signal),
      deploys: getJSON(`/deploys${query({ service, since: new Date(range.from * 1000).toISOString(), limit: 1000 })}`, { signal }),
      alerts: getJSON(`/alerts${query({ service })}`, { signal }),
    });
    if (signal.aborted) return;
    if (got.status.error) {
      if (isAbort(got.status.error)) return;
      setHTML(el.error, errorBox(got.status.error, 'cannot load the service'));
      setHTML(el.gate, got.gate.error ? errorBox(got.gate.error) : gateStatus(got.gate.value));
      specUI.hide();
      markRendered('service');
      return;
    }
    const status = got.status.value;
    setHTML(el.error, '');
    renderMeta(status, got.alerts.value?.alerts);
    setHTML(el.gate, got.gate.error ? errorBox(got.gate.error, 'gate unavailable') : gateStatus(got.gate.value));
    setHTML(el.history, got.history.error
      ? html`<tr><td colspan="3">${errorBox(got.history.error)}</td></tr>` : historyRows(got.history.value.history || []));
    const deploys = (got.deploys.value?.deploys || [])
      .filter((d) => { const t = Date.parse(d.started_at) / 1000; return t >= range.from && t <= range.to; });
    state.deploys = deploys;
    setHTML(el.deploys, got.deploys.error ? errorBox(got.deploys.error, 'deploys unavailable') : deploysTable(deploys));
    el.rangeNote.textContent = `Charts show the ${describe(time.state)}. Drag across a chart to zoom in. Dashed vertical lines mark deploys (hover for details; all are listed below), shaded bands are off-hours.`;

    ensureSections(status);
    const sp = seriesParams(time.state);
    // The spec is asked for once the service is known to exist, so that
    // an unknown service adds no 404s to the console.
    const [series, specData] = await Promise.all([
      settle(Object.fromEntries(status.slos.map((slo) => [
        slo.name, getJSON(`${path(service, 'slos', slo.name)}/series${query(sp)}`, { signal }),
      ]))),
      fetchSpec(service, signal),
    ]);
    if (signal.aborted) return;
    specUI.show(specData);
    const rulesBySLO = got.rules.value ? new Map((got.rules.value.slos || []).map((r) => [r.slo, r.rules])) : null;
    for (const slo of status.slos) {
      drawSLO(slo, series[slo.name], rulesBySLO ? rulesBySLO.get(slo.name) || [] : undefined, range);
    }
    // uPlot sizes a new chart in a microtask, and until then its legend
    // wraps to a tall column: let it, so that the requested SLO is
    // scrolled to where it stays.
    await Promise.resolve();
    if (signal.aborted) return;
    highlightRequestedSLO(status);
    markRendered('service');
  }

  async function submitOverride(e) {
    e.preventDefault();
    const token = el.form.querySelector('#override-token');
    const reason = el.form.querySelector('#override-reason').value;
    const durationValue = el.form.querySelector('#override-duration').value;
    el.result.className = 'result';
    el.result.textContent = 'Sending…';
    try {
      const o = await postJSON(`/gate/${encodeURIComponent(service)}/overrides`, { reason, duration: durationValue }, token.value);
      el.result.classList.add('ok');
      el.result.textContent = `override active until ${fullDateTime(o.expires_at)}`;
      el.form.querySelector('#override-reason').value = '';
      load();
    } catch (err) {
      el.result.classList.add('error');
      el.result.textContent = err.message;
    }
  }

  async function endOverride(button) {
    const token = el.form.querySelector('#override-token');
    if (!token.value) {
      el.result.className = 'result error';
      el.result.textContent = 'Enter an API token with scope gate:override to end the override.';
      token.focus();
      return;
    }
    try {
      await deleteJSON(`/gate/${encodeURIComponent(service)}/overrides/${button.dataset.endOverride}`, token.value);
      el.result.className = 'result ok';
      el.result.textContent = 'override ended';
      load();
    } catch (err) {
      el.result.className = 'result error';
      el.result.textContent = err.message;
    }
  }

  el.form.addEventListener('submit', submitOverride);
  el.gate.addEventListener('click', (e) => {
    const button = e.target.closest('[data-end-override]');
    if (button) endOverride(button);
  });
  load();
  return { refresh: load };
}
