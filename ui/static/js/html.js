// HTML built from template strings, escaped by default. Pages render lists
// of hundreds of rows as one string assigned to innerHTML, which is far
// cheaper than creating elements one by one; html`` keeps that safe: every
// interpolated value is escaped unless it is itself html`` (or raw()).

class SafeHTML {
  constructor(text) {
    this.text = text;
  }

  toString() {
    return this.text;
  }
}

const escapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const needsEscape = /[&<>"']/;

export function escapeHTML(value) {
  const s = String(value);
  // Most values (names, numbers) need nothing: skip the replace.
  return needsEscape.test(s) ? s.replace(/[&<>"']/g, (c) => escapes[c]) : s;
}

function interpolate(value) {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHTML) return value.text;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  return escapeHTML(value);
}

// html`<td>${name}</td>` escapes name; arrays are joined; null, undefined
// and false render nothing.
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) {
    out += interpolate(values[i]) + strings[i + 1];
  }
  return new SafeHTML(out);
}

// raw marks text that is already HTML.
export function raw(text) {
  return new SafeHTML(text);
}

export function setHTML(element, content) {
  element.innerHTML = interpolate(content);
}

// markRendered tells browser tests (and anyone watching) that page has
// drawn its data: body[data-ready] names the page and
// window.slogateRenders counts renders.
export function markRendered(page) {
  document.body.dataset.ready = page;
  window.slogateRenders = (window.slogateRenders || 0) + 1;
  document.getElementById('page')?.setAttribute('aria-busy', 'false');
}

// errorBox renders an API error inline, with the server's own message.
export function errorBox(err, what) {
  return html`<p class="error" role="alert">${what ? `${what}: ` : ''}${err.message || String(err)}</p>`;
}

// debounce calls fn once calls have stopped for ms milliseconds.
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
