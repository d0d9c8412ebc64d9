// The service page's spec section: where the service's spec comes from (a
// file, or the spec API and who last changed it), the spec as slogate runs
// it, and every applied change of it, newest first, with its diff and the
// notes saying what it did beyond the diff (an SLO whose SLI changed
// starts a new budget history).

import { getJSON, isAbort, query, settle } from '../api.js';
import { errorBox, html, markRendered, setHTML } from '../html.js';
import { dateTime, fullDateTime, relativeTime } from '../format.js';

// historyPage is how many changes are shown at first and added by each
// "Show older".
const historyPage = 20;

// viaLabels say in words how a change came.
const viaLabels = {
  start: 'start',
  watch: 'file watch',
  signal: 'reload signal',
  http: 'POST /-/reload',
  api: 'spec API',
};

const actions = ['created', 'changed', 'removed'];

// specSection is the section's empty skeleton.
export function specSection() {
  return html`<section class="card spec-card" id="spec" aria-labelledby="spec-heading">
    <h2 id="spec-heading">Spec</h2>
    <div id="spec-current"><p class="muted">Loading…</p></div>
    <h3 id="spec-history-heading" class="subheading">Changes</h3>
    <div id="spec-history-error"></div>
    <ol id="spec-history" class="spec-history" aria-labelledby="spec-history-heading"></ol>
    <button id="spec-history-more" type="button" class="button" aria-controls="spec-history" hidden>Show older changes</button>
  </section>`;
}

function historyURL(service, before) {
  // One more than shown, to know whether there are older ones.
  return `/specs/${encodeURIComponent(service)}/history${query({ limit: historyPage + 1, before })}`;
}

// fetchSpec gets the service's spec and its latest changes as
// {spec: {value}|{error}, history: {value}|{error}}.
export function fetchSpec(service, signal) {
  return settle({
    spec: getJSON(`/specs/${encodeURIComponent(service)}`, { signal }),
    history: getJSON(historyURL(service), { signal }),
  });
}

function when(t) {
  return html`<time datetime="${t}" title="${fullDateTime(t)}">${dateTime(t)}</time>
    <span class="muted">(<span data-relative="${t}">${relativeTime(t)}</span>)</span>`;
}

function sourceLine(spec) {
  if (spec.source === 'api') {
    return html`<p class="spec-source" id="spec-source">From the API, last changed by <strong>${spec.updatedBy || 'unknown'}</strong>
      <span data-relative="${spec.updatedAt}" title="${fullDateTime(spec.updatedAt)}">${relativeTime(spec.updatedAt)}</span></p>`;
  }
  return html`<p class="spec-source" id="spec-source">From file <code class="path">${spec.file}</code></p>`;
}

function specView(spec) {
  return html`<details class="spec-yaml">
      <summary>Spec as slogate runs it (YAML, defaults filled in)</summary>
      <pre class="code" tabindex="0" aria-label="Spec of ${spec.service} as slogate runs it">${spec.spec}</pre>
    </details>
    ${spec.source === 'api' && spec.text && spec.text !== spec.spec ? html`<details class="spec-yaml">
      <summary>Spec as sent</summary>
      <pre class="code" tabindex="0" aria-label="Spec of ${spec.service} as sent">${spec.text}</pre>
    </details>` : ''}`;
}

function diffLineClass(line) {
  if (line.startsWith('+++') || line.startsWith('---')) return 'diff-file';
  if (line.startsWith('@@')) return 'diff-hunk';
  if (line.startsWith('+')) return 'diff-add';
  if (line.startsWith('-')) return 'diff-del';
  return '';
}

// diffView renders a unified diff with one span per line; a closed
// <details> so that a long history stays short.
function diffView(diff, open) {
  const lines = diff.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let added = 0;
  let removed = 0;
  const spans = lines.map((line) => {
    const cls = diffLineClass(line);
    if (cls === 'diff-add') added++;
    if (cls === 'diff-del') removed++;
    return html`<span${cls ? html` class="${cls}"` : ''}>${line}</span>`;
  });
  return html`<details class="change-diff"${open ? ' open' : ''}>
    <summary>Diff <span class="diff-count"><span class="diff-add-count">+${added}</span> <span class="diff-del-count">−${removed}</span></span></summary>
    <pre class="diff" tabindex="0" aria-label="Diff, ${added} lines added and ${removed} removed"><code>${spans}</code></pre>
  </details>`;
}

function changeItem(c, open) {
  const action = actions.includes(c.action) ? c.action : 'changed';
  return html`<li class="spec-change" data-change-id="${c.id}">
    <p class="change-head">
      <span class="change-action change-${action}">${c.action}</span>
      <span class="change-when">${when(c.at)}</span>
      <span class="change-by"><span class="muted">by</span> ${c.by || 'unknown'}</span>
      <span class="change-via"><span class="muted">via</span> ${viaLabels[c.via] || c.via}</span>
      ${c.source === 'file' && c.file ? html`<span class="change-file"><span class="muted">file</span> <code class="path">${c.file}</code></span>` : ''}
      ${c.remote ? html`<span class="change-remote"><span class="muted">from</span> ${c.remote}</span>` : ''}
    </p>
    ${c.notes?.length ? html`<ul class="change-notes" aria-label="Notes">
      ${c.notes.map((n) => html`<li class="change-note"><span aria-hidden="true">⚠ </span>${n}</li>`)}</ul>` : ''}
    ${c.diff ? diffView(c.diff, open) : ''}
  </li>`;
}

// specPanel drives the section the skeleton made under root. show(got)
// draws what fetchSpec got; a later show adds the changes made since,
// leaving what the reader opened open.
export function specPanel(root, service) {
  const el = {
    section: root.querySelector('#spec'),
    current: root.querySelector('#spec-current'),
    error: root.querySelector('#spec-history-error'),
    list: root.querySelector('#spec-history'),
    more: root.querySelector('#spec-history-more'),
  };
  let shownSpec = null; // the spec drawn in #spec-current, as JSON
  let ids = []; // the ids of the changes listed, newest first
  let generation = 0; // bumped when the list is redrawn from scratch

  function refreshRelativeTimes() {
    for (const e of el.section.querySelectorAll('[data-relative]')) e.textContent = relativeTime(e.dataset.relative);
  }

  function showSpec(got) {
    if (got.error) {
      shownSpec = null;
      setHTML(el.current, errorBox(got.error, 'cannot load the spec'));
      return;
    }
    const key = JSON.stringify(got.value);
    if (key === shownSpec) return;
    shownSpec = key;
    setHTML(el.current, [sourceLine(got.value), specView(got.value)]);
  }

  function showHistory(got) {
    if (got.error) {
      setHTML(el.error, errorBox(got.error, 'cannot load the spec history'));
      return;
    }
    setHTML(el.error, '');
    const changes = got.value.changes || [];
    const more = changes.length > historyPage;
    const page = changes.slice(0, historyPage);
    const newest = ids[0];
    const fresh = newest === undefined ? page : page.filter((c) => c.id > newest);
    if (newest !== undefined && fresh.length < page.length) {
      // The changes made since the last look: put them on top.
      if (fresh.length) {
        el.list.insertAdjacentHTML('afterbegin', String(html`${fresh.map((c) => changeItem(c, false))}`));
        ids = [...fresh.map((c) => c.id), ...ids];
      }
      return;
    }
    generation++;
    ids = page.map((c) => c.id);
    setHTML(el.list, page.length
      ? page.map((c, i) => changeItem(c, i === 0 && c.action === 'changed'))
      : html`<li class="muted">No change recorded yet.</li>`);
    el.more.hidden = !more;
  }

  async function showOlder() {
    const before = ids[ids.length - 1];
    if (before === undefined) return;
    const started = generation;
    el.more.disabled = true;
    el.more.textContent = 'Loading…';
    try {
      const body = await getJSON(historyURL(service, before));
      if (started !== generation) return;
      const changes = body.changes || [];
      const page = changes.slice(0, historyPage);
      el.list.insertAdjacentHTML('beforeend', String(html`${page.map((c) => changeItem(c, false))}`));
      ids.push(...page.map((c) => c.id));
      el.more.hidden = changes.length <= historyPage;
      setHTML(el.error, '');
    } catch (err) {
      if (isAbort(err)) return;
      setHTML(el.error, errorBox(err, 'cannot load older changes'));
    } finally {
      el.more.disabled = false;
      el.more.textContent = 'Show older changes';
    }
    markRendered('service');
  }

  el.more.addEventListener('click', showOlder);

  return {
    show(got) {
      el.section.hidden = false;
      showSpec(got.spec);
      showHistory(got.history);
      refreshRelativeTimes();
    },
    // hide leaves the section out, for a service that cannot be loaded.
    hide() {
      el.section.hidden = true;
    },
  };
}
