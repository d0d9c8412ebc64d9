// Applies the remembered colour theme before the first paint, so a light
// theme does not flash dark. A classic script (not a module) because it
// must run synchronously in <head>; theme.js owns the toggle.
(function applyStoredTheme() {
  try {
    var theme = window.localStorage.getItem('slogate-theme');
    if (theme === 'light' || theme === 'dark') {
      document.documentElement.dataset.theme = theme;
    }
  } catch (e) {
    // Storage can be disabled; the dark default stands.
  }
})();
