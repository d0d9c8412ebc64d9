// SLO window arithmetic the charts need: the length of a rolling window and
// the calendar period (week, month, quarter, in the schedule's time zone)
// that contains a time, as slo.Window.PeriodAt computes it on the server.

const units = { m: 60, h: 3600, d: 86400, w: 604800 };

// rollingSeconds returns the length of a rolling window such as "28d" or
// "90m" in seconds, or null for a calendar window.
export function rollingSeconds(window) {
  const m = /^(\d+)([mhdw])$/.exec(window || '');
  return m ? Number(m[1]) * units[m[2]] : null;
}

export function isCalendar(window) {
  return window === 'week' || window === 'month' || window === 'quarter';
}

const formatters = new Map();

function partsFormatter(timeZone) {
  if (!formatters.has(timeZone)) {
    formatters.set(timeZone, new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    }));
  }
  return formatters.get(timeZone);
}

// localParts returns the wall-clock date and time of ms in timeZone.
function localParts(ms, timeZone) {
  const p = {};
  for (const { type, value } of partsFormatter(timeZone).formatToParts(ms)) p[type] = Number(value);
  return { year: p.year, month: p.month - 1, day: p.day, hour: p.hour % 24, minute: p.minute, second: p.second };
}

function offsetAt(ms, timeZone) {
  const p = localParts(ms, timeZone);
  return Date.UTC(p.year, p.month, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

// zonedMidnight returns the instant (ms) of local midnight on a date in
// timeZone; month and day may overflow, as with Date.UTC.
function zonedMidnight(year, month, day, timeZone) {
  const wall = Date.UTC(year, month, day);
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  return guess;
}

function safeZone(timeZone) {
  try {
    partsFormatter(timeZone || 'UTC');
    return timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

// calendarPeriod returns [start, end) in Unix seconds of the calendar
// period of kind ("week", "month", "quarter") containing the time t
// (seconds), in timeZone; weeks start on Monday.
export function calendarPeriod(kind, t, timeZone) {
  const zone = safeZone(timeZone);
  const p = localParts(t * 1000, zone);
  let start;
  let end;
  if (kind === 'week') {
    const weekday = new Date(Date.UTC(p.year, p.month, p.day)).getUTCDay();
    const sinceMonday = (weekday + 6) % 7;
    start = zonedMidnight(p.year, p.month, p.day - sinceMonday, zone);
    end = zonedMidnight(p.year, p.month, p.day - sinceMonday + 7, zone);
  } else if (kind === 'quarter') {
    const first = Math.floor(p.month / 3) * 3;
    start = zonedMidnight(p.year, first, 1, zone);
    end = zonedMidnight(p.year, first + 3, 1, zone);
  } else {
    start = zonedMidnight(p.year, p.month, 1, zone);
    end = zonedMidnight(p.year, p.month + 1, 1, zone);
  }
  return [start / 1000, end / 1000];
}

// budgetWindow returns [start, end] (Unix seconds) of the SLO's window that
// ends at the range end: for a rolling window its length back from end, for
// a calendar window the whole period containing end.
export function budgetWindow(window, end, timeZone) {
  if (isCalendar(window)) return calendarPeriod(window, end - 1, timeZone);
  const length = rollingSeconds(window);
  return length ? [end - length, end] : null;
}

// idealBurnDown returns, for each timestamp, the budget left (in percent)
// if it were spent evenly over [start, end]: 100 at start, 0 at end, and
// null outside.
export function idealBurnDown(timestamps, [start, end]) {
  const span = end - start;
  return timestamps.map((t) => (t < start || t > end || span <= 0 ? null : 100 * (1 - (t - start) / span)));
}
