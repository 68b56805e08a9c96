// Registers Plico's service worker (served by `plico serve` as /sw.js) and offers an update
// when a new version is ready: the user chooses when to reload, so a session never changes
// version under its feet.
(() => {
  if (!('serviceWorker' in navigator)) return;
  const container = navigator.serviceWorker;
  const hadController = Boolean(container.controller);
  let reloading = false;
  container.addEventListener('controllerchange', () => {
    if (hadController && !reloading) {
      reloading = true;
      location.reload();
    }
  });
  // In the language the app chose (src/i18n.rs sets <html lang>).
  const words = {
    en: ['A new version of Plico is ready.', 'Reload to update'],
    fr: ['Une nouvelle version de Plico est prête.', 'Recharger pour mettre à jour'],
    de: ['Eine neue Version von Plico ist bereit.', 'Neu laden zum Aktualisieren'],
    nl: ['Er is een nieuwe versie van Plico klaar.', 'Herladen om bij te werken'],
    sv: ['En ny version av Plico är klar.', 'Ladda om för att uppdatera'],
  };
  const offer = (waiting) => {
    if (document.getElementById('update-ready')) return;
    const [ready, reload] = words[document.documentElement.lang] || words.en;
    const bar = document.createElement('div');
    bar.id = 'update-ready';
    bar.className = 'update-ready';
    bar.setAttribute('role', 'status');
    const text = document.createElement('span');
    text.textContent = ready;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'button primary';
    button.textContent = reload;
    button.addEventListener('click', () => waiting.postMessage('plico-update'));
    bar.append(text, button);
    document.body.append(bar);
  };
  container.register('/sw.js').then((registration) => {
    if (registration.waiting && container.controller) offer(registration.waiting);
    registration.addEventListener('updatefound', () => {
      const incoming = registration.installing;
      if (!incoming) return;
      incoming.addEventListener('statechange', () => {
        if (incoming.state === 'installed' && container.controller) offer(incoming);
      });
    });
    // A tab left open still hears of new versions.
    setInterval(() => registration.update().catch(() => {}), 30 * 60 * 1000);
  }).catch(() => {
    // `trunk serve` has no /sw.js: the app works without one.
  });
})();
