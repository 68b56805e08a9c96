// Plico's service worker. The server writes it from this template for the build it serves
// (static_files.rs): SHELL is every file of the build and VERSION their hash, so each build is
// a new worker. The shell is precached and served offline; a new version installs beside the
// running one and waits until the user chooses to reload (public/pwa.js): it never takes over
// a session by itself. The API is never cached: mail stays in the app's own encrypted store.
const VERSION = '__VERSION__';
const SHELL = __SHELL__;
const CACHE = `plico-shell-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('plico-shell-') && key !== CACHE) await caches.delete(key);
    }
  })());
  // The first install controls the page that registered it, so it works offline at once. Not
  // inside waitUntil: every fetch of a controlled page and of its workers (sign-in's included)
  // waits for activation to finish, so activation must not wait on claiming them.
  self.clients.claim().catch(() => {});
});

self.addEventListener('message', (event) => {
  if (event.data === 'plico-update') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/.well-known/')) return;
  if (request.mode === 'navigate') {
    // Every app route is index.html: this version's, so the page and its files always match.
    event.respondWith(caches.match('/index.html', { cacheName: CACHE }).then((hit) => hit || fetch(request)));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
  }
});
