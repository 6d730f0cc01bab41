// ordergate console: confirmations on action forms and the overview's live feed (SSE).
"use strict";
document.addEventListener("submit", (ev) => {
  const form = ev.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) ev.preventDefault();
});
window.addEventListener("DOMContentLoaded", () => {
  const live = document.querySelector("[data-sse]");
  if (!live || !window.EventSource) return;
  const source = new EventSource(live.getAttribute("data-sse"));
  source.addEventListener("overview", (ev) => {
    live.innerHTML = JSON.parse(ev.data).html;  // server-rendered, every value escaped
    live.setAttribute("data-updated", String(Date.now()));
  });
  source.addEventListener("problem", (ev) => {
    live.setAttribute("data-problem", JSON.parse(ev.data).message);
  });
});
