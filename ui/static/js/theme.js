// The colour theme: dark by default, light on request, remembered in
// localStorage. Pages that draw with theme colours (the charts) listen for
// the 'themechange' event on document.

const storageKey = 'slogate-theme';

export function currentTheme() {
  return document.documentElement.dataset.theme === 'light' ? 'light' : 'dark';
}

function rememberTheme(theme) {
  try {
    localStorage.setItem(storageKey, theme);
  } catch {
    // Storage disabled: the choice lasts until the page is left.
  }
}

function labelToggle(button, theme) {
  const label = theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme';
  button.setAttribute('aria-label', label);
  button.title = label;
  button.textContent = theme === 'dark' ? '☀' : '☾';
}

export function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  rememberTheme(theme);
  const button = document.getElementById('theme-toggle');
  if (button) labelToggle(button, theme);
  document.dispatchEvent(new CustomEvent('themechange', { detail: { theme } }));
}

export function initThemeToggle() {
  const button = document.getElementById('theme-toggle');
  if (!button) return;
  labelToggle(button, currentTheme());
  button.addEventListener('click', () => {
    setTheme(currentTheme() === 'dark' ? 'light' : 'dark');
  });
}
