// The time range and auto-refresh shown by every page, kept in the URL
// (range=6h, or range=custom&from=…&to=… in RFC 3339, and refresh=30s) so
// that a link shows the same view. The controls live in the page header:
// select#range, input#from, input#to, button#apply-range, select#refresh.

export const ranges = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400, '28d': 28 * 86400 };
export const refreshes = { off: 0, '10s': 10_000, '30s': 30_000, '1m': 60_000 };
export const defaultRange = '24h';

function parseTime(s) {
  if (!s) return null;
  const ms = /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : Date.parse(s);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

// readTimeState reads {range, from, to, refresh} from a query string; from
// and to (Unix seconds) are set for custom ranges only.
export function readTimeState(search = location.search) {
  const q = new URLSearchParams(search);
  const state = { range: defaultRange, from: null, to: null, refresh: 'off' };
  const range = q.get('range');
  const from = parseTime(q.get('from'));
  const to = parseTime(q.get('to'));
  if ((range === 'custom' || range === null) && from !== null && to !== null && from < to) {
    Object.assign(state, { range: 'custom', from, to });
  } else if (range in ranges) {
    state.range = range;
  }
  if (q.get('refresh') in refreshes) state.refresh = q.get('refresh');
  return state;
}

// writeURL puts params into the current URL's query, dropping empty ones,
// without adding a history entry.
export function writeURL(params) {
  const url = new URL(location.href);
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === '') url.searchParams.delete(key);
    else url.searchParams.set(key, value);
  }
  if (url.href !== location.href) history.replaceState(history.state, '', url);
}

function isoSeconds(t) {
  return new Date(t * 1000).toISOString().replace('.000Z', 'Z');
}

function writeTimeState(state) {
  const custom = state.range === 'custom';
  writeURL({
    range: state.range,
    from: custom ? isoSeconds(state.from) : null,
    to: custom ? isoSeconds(state.to) : null,
    refresh: state.refresh,
  });
}

// bounds returns the range as Unix seconds {from, to} at now.
export function bounds(state, now = Date.now() / 1000) {
  if (state.range === 'custom') return { from: state.from, to: state.to };
  return { from: now - ranges[state.range], to: now };
}

// seriesParams returns the from and to a series request takes: relative
// ("now-6h", "now") for preset ranges, so the server's clock decides.
export function seriesParams(state) {
  if (state.range === 'custom') return { from: isoSeconds(state.from), to: isoSeconds(state.to) };
  return { from: `now-${state.range}`, to: 'now' };
}

// describe says the range in words, for headings.
export function describe(state) {
  if (state.range !== 'custom') return `last ${state.range}`;
  const f = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return `${f.format(state.from * 1000)} – ${f.format(state.to * 1000)}`;
}

// datetime-local inputs hold local wall-clock time without a zone.
function toLocalInput(t) {
  const d = new Date(t * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value) {
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms / 1000 : null;
}

// TimeControls binds the header's controls to the URL. onChange runs after
// the range changes, onTick on every auto-refresh tick (both without
// arguments; read .state).
export class TimeControls {
  constructor({ onChange, onTick }) {
    this.state = readTimeState();
    this.onChange = onChange;
    this.onTick = onTick;
    this.timer = null;
    this.range = document.getElementById('range');
    this.refresh = document.getElementById('refresh');
    this.custom = document.getElementById('custom-range');
    this.from = document.getElementById('from');
    this.to = document.getElementById('to');
    this.error = document.getElementById('range-error');
    this.showState();
    this.bind();
    this.schedule();
  }

  showState() {
    this.range.value = this.state.range;
    this.refresh.value = this.state.refresh;
    this.custom.hidden = this.state.range !== 'custom';
    if (this.state.range === 'custom') this.fillCustomInputs();
  }

  fillCustomInputs() {
    const { from, to } = bounds(this.state);
    this.from.value = toLocalInput(from);
    this.to.value = toLocalInput(to);
  }

  bind() {
    this.range.addEventListener('change', () => this.rangeSelected());
    document.getElementById('apply-range').addEventListener('click', () => this.applyCustom());
    for (const input of [this.from, this.to]) {
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') this.applyCustom();
      });
    }
    this.refresh.addEventListener('change', () => {
      this.state = { ...this.state, refresh: this.refresh.value };
      writeTimeState(this.state);
      this.schedule();
    });
    document.getElementById('refresh-now')?.addEventListener('click', () => this.onTick());
  }

  rangeSelected() {
    const value = this.range.value;
    if (value === 'custom') {
      // Start from the range shown so far; nothing changes until Apply.
      const { from, to } = bounds(this.state);
      this.from.value = toLocalInput(from);
      this.to.value = toLocalInput(to);
      this.custom.hidden = false;
      this.from.focus();
      return;
    }
    this.custom.hidden = true;
    this.error.textContent = '';
    this.state = { ...this.state, range: value, from: null, to: null };
    writeTimeState(this.state);
    this.onChange();
  }

  applyCustom() {
    const from = fromLocalInput(this.from.value);
    const to = fromLocalInput(this.to.value);
    if (from === null || to === null) {
      this.error.textContent = 'Enter both a start and an end.';
      return;
    }
    if (from >= to) {
      this.error.textContent = 'The start must be before the end.';
      return;
    }
    this.error.textContent = '';
    this.state = { ...this.state, range: 'custom', from, to };
    writeTimeState(this.state);
    this.onChange();
  }

  // zoomTo shows the custom range [from, to] (Unix seconds), as a drag
  // across a chart asks.
  zoomTo(from, to) {
    if (!(from < to)) return;
    this.state = { ...this.state, range: 'custom', from, to };
    this.showState();
    this.error.textContent = '';
    writeTimeState(this.state);
    this.onChange();
  }

  schedule() {
    clearInterval(this.timer);
    const ms = refreshes[this.state.refresh];
    if (ms > 0) {
      this.timer = setInterval(() => {
        if (!document.hidden) this.onTick();
      }, ms);
    }
  }
}
