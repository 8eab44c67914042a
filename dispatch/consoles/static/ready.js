// Run `start` once the console has logged in and shown its first live snapshot (common.js sets
// body[data-ready]), for modules a page loads beside its own script (boards, cameras).
export function whenReady(start) {
  if (document.body.dataset.ready === "true") {
    start();
    return;
  }
  const observer = new MutationObserver(() => {
    if (document.body.dataset.ready === "true") {
      observer.disconnect();
      start();
    }
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-ready"] });
}
