// The client of slogate's JSON API (/api/v1). Every error becomes an
// ApiError whose message is the server's own {"error": ...} text, so pages
// can show it as is.

const base = '/api/v1';

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.path = path;
  }
}

export function isNotFound(err) {
  return err instanceof ApiError && err.status === 404;
}

export function isAbort(err) {
  return err?.name === 'AbortError';
}

// query renders params as a query string, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && typeof body.error === 'string') return body.error;
  } catch {
    // Not JSON: fall back to the status text.
  }
  return `${response.status} ${response.statusText || 'error'}`.trim();
}

async function request(method, path, { body, token, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, `cannot reach slogate (${err.message})`, path);
  }
  if (!response.ok) {
    throw new ApiError(response.status, await errorMessage(response), path);
  }
  if (response.status === 204) return null;
  return response.json();
}

export function getJSON(path, options = {}) {
  return request('GET', path, options);
}

export function postJSON(path, body, token) {
  return request('POST', path, { body, token });
}

export function deleteJSON(path, token) {
  return request('DELETE', path, { token });
}

// latestOnly returns a function giving a fresh AbortSignal and aborting the
// previous one, so that only the latest of overlapping loads renders.
export function latestOnly() {
  let controller;
  return () => {
    controller?.abort();
    controller = new AbortController();
    return controller.signal;
  };
}

// settle waits for named promises and returns {name: {value} | {error}},
// so one failing endpoint degrades one part of a page, not all of it.
export async function settle(named) {
  const names = Object.keys(named);
  const results = await Promise.allSettled(names.map((n) => named[n]));
  const out = {};
  names.forEach((name, i) => {
    const r = results[i];
    out[name] = r.status === 'fulfilled' ? { value: r.value } : { error: r.reason };
  });
  return out;
}

// The summaries below come from endpoints added with the web UI (GET /gate,
// GET /oncall). Against a server without them they fall back to the
// per-item endpoints when there are few items, and to nothing otherwise.

const fallbackLimit = 100;

// fetchGateSummary returns a Map of service name to its gate verdict
// ({decision, allowed, enforced, reasons, ...}). serviceNames (an array or
// a promise of one) is only awaited for the fallback.
export async function fetchGateSummary(serviceNames, signal) {
  try {
    const body = await getJSON('/gate', { signal });
    return new Map((body.services || []).map((g) => [g.service, g]));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const names = await serviceNames;
  if (names.length > fallbackLimit) throw new ApiError(404, 'GET /api/v1/gate is not available on this server', '/gate');
  const answers = await Promise.allSettled(
    names.map((s) => getJSON(`/gate/${encodeURIComponent(s)}`, { signal })),
  );
  const out = new Map();
  answers.forEach((a, i) => {
    if (a.status === 'fulfilled') out.set(names[i], a.value);
  });
  return out;
}

// fetchOnCall returns the teams as GET /oncall does:
// [{team, members, channel, onCall: {current, next, ...} | null}].
// teamNames (an array or a promise of one) is only awaited for the
// fallback.
export async function fetchOnCall(teamNames, signal) {
  try {
    const body = await getJSON('/oncall', { signal });
    return body.teams || [];
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const teams = await teamNames;
  if (teams.length > fallbackLimit) throw new ApiError(404, 'GET /api/v1/oncall is not available on this server', '/oncall');
  const answers = await Promise.allSettled(
    teams.map((t) => getJSON(`/oncall/${encodeURIComponent(t)}`, { signal })),
  );
  return teams.map((team, i) => ({
    team,
    members: [],
    onCall: answers[i].status === 'fulfilled' ? answers[i].value : null,
  }));
}

// fetchRules returns GET /rules/{service}, or null when the server does
// not have that endpoint.
export async function fetchRules(service, signal) {
  try {
    return await getJSON(`/rules/${encodeURIComponent(service)}`, { signal });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}
