// On-call (/oncall): for each team, who holds the pager now and who takes
// it next, and the services the team owns.

import { fetchOnCall, getJSON, isAbort, latestOnly, settle } from '../api.js';
import { errorBox, html, markRendered, setHTML } from '../html.js';
import { dash, dateTime, fullDateTime, relativeTime } from '../format.js';

function skeleton() {
  return html`
    <div class="page-head"><h1>On call</h1><p class="page-sub">Who is paged for each team's services now, and who is next.</p></div>
    <div id="oncall-error"></div>
    <div id="teams" class="team-grid"><p class="muted">Loading…</p></div>`;
}

function shift(s, when) {
  if (!s?.person) return html`<span class="muted">${dash}</span>`;
  const time = when === 'now' ? s.until : s.since;
  return html`<strong class="person">${s.person}</strong>${s.covers ? html` <span class="muted">(covering ${s.covers})</span>` : ''}
    <span class="muted small" title="${s.why || fullDateTime(time)}">${when === 'now' ? 'until' : 'from'} ${dateTime(time)} (${relativeTime(time)})</span>`;
}

function teamCard(team, services) {
  const oc = team.onCall;
  return html`<section class="card team-card" data-team="${team.team}" aria-labelledby="team-${team.team}">
    <h2 id="team-${team.team}">${team.team}</h2>
    <dl class="oncall-shifts">
      <div><dt>Now</dt><dd class="oncall-now">${oc ? shift(oc.current, 'now') : html`<span class="muted">no rotation</span>`}</dd></div>
      <div><dt>Next</dt><dd class="oncall-next">${oc ? shift(oc.next, 'next') : html`<span class="muted">${dash}</span>`}</dd></div>
    </dl>
    ${team.members?.length ? html`<p class="small"><span class="muted">Members:</span> ${team.members.join(', ')}</p>` : ''}
    ${team.channel ? html`<p class="small"><span class="muted">Channel:</span> ${team.channel}</p>` : ''}
    ${services.length ? html`<p class="small"><span class="muted">Services:</span> ${services.map((s, i) => html`${i ? ', ' : ''}<a href="/services/${encodeURIComponent(s)}">${s}</a>`)}</p>` : ''}
  </section>`;
}

function servicesByTeam(services) {
  const out = new Map();
  for (const s of services) {
    if (!out.has(s.team)) out.set(s.team, []);
    out.get(s.team).push(s.name);
  }
  return out;
}

export function mount({ root }) {
  setHTML(root, skeleton());
  const teamsEl = root.querySelector('#teams');
  const errorEl = root.querySelector('#oncall-error');
  const nextSignal = latestOnly();

  async function load() {
    const signal = nextSignal();
    const services = getJSON('/services', { signal });
    const teamNames = services.then((b) => [...new Set(b.services.map((s) => s.team))].sort(), () => []);
    const got = await settle({ services, teams: fetchOnCall(teamNames, signal) });
    if (signal.aborted || isAbort(got.teams.error)) return;
    const owned = servicesByTeam(got.services.value?.services || []);
    setHTML(errorEl, got.services.error ? errorBox(got.services.error, 'services unavailable') : '');
    if (got.teams.error) {
      setHTML(teamsEl, errorBox(got.teams.error, 'cannot load on-call'));
    } else {
      const teams = got.teams.value;
      setHTML(teamsEl, teams.length ? teams.map((t) => teamCard(t, owned.get(t.team) || []))
        : html`<p class="muted">No teams are configured.</p>`);
    }
    markRendered('oncall');
  }

  load();
  return { refresh: load };
}
