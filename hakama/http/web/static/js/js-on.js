/* Runs first, in <head>: marks the page as scripted so that `.js-only` parts (maps, charts,
   copy buttons) show and `.no-js-only` hints hide before anything is drawn. A file, not an
   inline script, so a strict Content-Security-Policy (script-src 'self') allows it. */
document.documentElement.classList.add("js");
