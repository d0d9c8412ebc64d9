// Formatting of numbers, times and budget levels for people. Every function
// takes null (no data) and answers a dash for it.

export const dash = '—';

function isNumber(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

// percent formats a ratio (0.732) as "73.2%".
export function percent(ratio, digits = 1) {
  return isNumber(ratio) ? `${(ratio * 100).toFixed(digits)}%` : dash;
}

// sliPercent formats an SLI ratio with enough digits to compare it with
// objectives such as 99.95%.
export function sliPercent(ratio) {
  if (!isNumber(ratio)) return dash;
  const digits = ratio >= 0.99 ? 3 : 2;
  return `${(ratio * 100).toFixed(digits)}%`;
}

// objective formats an objective given in percent (99.9 → "99.9%").
export function objective(pct) {
  return isNumber(pct) ? `${Number(pct.toPrecision(6))}%` : dash;
}

// burn formats a burn rate ("0.42×", "14.4×").
export function burn(rate) {
  if (!isNumber(rate)) return dash;
  const digits = rate >= 100 ? 0 : rate >= 10 ? 1 : 2;
  return `${rate.toFixed(digits)}×`;
}

export function toDate(t) {
  if (t === null || t === undefined || t === '') return null;
  if (t instanceof Date) return t;
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const fullDateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  timeZoneName: 'short',
});

// dateTime formats an RFC 3339 string, Unix seconds or a Date briefly.
export function dateTime(t) {
  const d = toDate(t);
  return d ? dateTimeFormat.format(d) : dash;
}

// fullDateTime formats a time with seconds and zone, for titles.
export function fullDateTime(t) {
  const d = toDate(t);
  return d ? fullDateTimeFormat.format(d) : '';
}

const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const relativeUnits = [
  ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1],
];

// relativeTime formats t against now: "5 min. ago", "in 2 hr.".
export function relativeTime(t, now = Date.now()) {
  const d = toDate(t);
  if (!d) return dash;
  const seconds = (d.getTime() - now) / 1000;
  for (const [unit, size] of relativeUnits) {
    if (Math.abs(seconds) >= size || unit === 'second') {
      return relativeFormat.format(Math.round(seconds / size), unit);
    }
  }
  return dash;
}

// duration formats seconds as "2d 3h", "1h 5m" or "42s".
export function duration(seconds) {
  if (!isNumber(seconds)) return dash;
  let s = Math.max(0, Math.round(seconds));
  const parts = [];
  for (const [label, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (s >= size || (label === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)}${label}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

// budgetLevel names the colour band of a remaining budget ratio: more
// than half left is ok, a fifth to a half warn, less than a fifth low, and
// below zero overspent.
export function budgetLevel(ratio, noData = false) {
  if (noData || !isNumber(ratio)) return 'nodata';
  if (ratio < 0) return 'over';
  if (ratio < 0.2) return 'low';
  if (ratio <= 0.5) return 'warn';
  return 'ok';
}

// decisionLabel turns a gate decision into words.
export function decisionLabel(decision) {
  switch (decision) {
    case 'ship': return 'ship';
    case 'slow_down': return 'slow down';
    default: return 'unknown';
  }
}

// words turns snake_case into words ("insufficient_data" → "insufficient data").
export function words(s) {
  return String(s ?? '').replaceAll('_', ' ');
}
