// The app's entry point: picks the page for the path, wires the header's
// theme toggle, time range and auto-refresh to it, and marks the current
// link in the navigation. Every page module exports mount({root, params,
// time}) returning {refresh()}; navigation between pages is ordinary links.

import { initThemeToggle } from './theme.js';
import { TimeControls } from './timerange.js';
import { errorBox, markRendered, setHTML } from './html.js';
import * as overview from './pages/overview.js';
import * as service from './pages/service.js';
import * as alerts from './pages/alerts.js';
import * as deploys from './pages/deploys.js';
import * as oncall from './pages/oncall.js';

// Pages are imported up front, not on demand: the browser then fetches the
// whole (small) module graph in parallel instead of one more round trip
// after this module runs.
const pages = { overview, service, alerts, deploys, oncall };

const routes = [
  { pattern: /^\/$/, page: 'overview', nav: '/' },
  { pattern: /^\/services\/([^/]+)\/slos\/([^/]+)\/?$/, page: 'service', nav: '/', params: ['service', 'slo'] },
  { pattern: /^\/services\/([^/]+)\/?$/, page: 'service', nav: '/', params: ['service'] },
  { pattern: /^\/alerts\/?$/, page: 'alerts', nav: '/alerts' },
  { pattern: /^\/deploys\/?$/, page: 'deploys', nav: '/deploys' },
  { pattern: /^\/oncall\/?$/, page: 'oncall', nav: '/oncall' },
];

function matchRoute(path) {
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params = {};
    (route.params || []).forEach((name, i) => {
      params[name] = decodeURIComponent(m[i + 1]);
    });
    return { ...route, params };
  }
  return null;
}

function markCurrentLink(href) {
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === href) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

const timeParams = ['range', 'from', 'to', 'refresh'];

// carryTimeRange keeps the chosen time range and refresh when following a
// link within the app (plain clicks only: a link opened in a new tab, or
// copied, is the link as written).
function carryTimeRange(e) {
  const a = e.target.closest?.('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  const url = new URL(a.href, location.href);
  const current = new URLSearchParams(location.search);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/static/')) return;
  let changed = false;
  for (const key of timeParams) {
    if (current.has(key) && !url.searchParams.has(key)) {
      url.searchParams.set(key, current.get(key));
      changed = true;
    }
  }
  if (!changed) return;
  e.preventDefault();
  location.assign(url.href);
}

function start() {
  initThemeToggle();
  document.addEventListener('click', carryTimeRange);
  const root = document.getElementById('page');
  const route = matchRoute(location.pathname);
  if (!route) {
    setHTML(root, errorBox(new Error(`no page at ${location.pathname}`)));
    markRendered('notfound');
    return;
  }
  markCurrentLink(route.nav);
  let view = null;
  const time = new TimeControls({
    onChange: () => view?.refresh('range'),
    onTick: () => view?.refresh('tick'),
  });
  try {
    view = pages[route.page].mount({ root, params: route.params, time });
  } catch (err) {
    setHTML(root, errorBox(err, 'cannot load the page'));
    markRendered(route.page);
  }
}

start();
