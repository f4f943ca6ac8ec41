/* Service worker of the inspectors' page: turns Web Push messages into system notifications. */
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let msg = { title: "RiverPatrol", body: "New debris on your stretch", url: "/inspector/" };
  try { msg = Object.assign(msg, event.data ? event.data.json() : {}); } catch (e) { msg.body = event.data.text(); }
  event.waitUntil(self.registration.showNotification(msg.title, {
    body: msg.body, icon: msg.icon || undefined, tag: msg.tag, renotify: true, data: { url: msg.url },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/inspector/";
  event.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const w of wins) {
      if (w.url.includes("/inspector/")) { await w.focus(); return w.navigate(url); }
    }
    return self.clients.openWindow(url);
  })());
});
