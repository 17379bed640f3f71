// bedrock-gates console: the only script. Served from /console/static/ (CSP: script-src 'self').
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const csrf = document.body.dataset.csrf;

  // Region selector: switch on change (the Go button remains for no-script use).
  const region = document.getElementById("region");
  if (region) region.addEventListener("change", () => region.form.submit());

  // EULA modal: shown modally; Accept ticks the box and closes it.
  const eula = document.getElementById("eula");
  if (eula && eula.showModal) {
    eula.close();
    eula.showModal();
    document.getElementById("eula-ok").addEventListener("click", () => {
      document.getElementById("eula-accept").checked = true;
      eula.close();
    });
  }

  // Copy buttons next to fix commands.
  document.querySelectorAll("button.copy").forEach((b) =>
    b.addEventListener("click", () => {
      const code = b.parentElement.querySelector("code");
      if (code && navigator.clipboard) navigator.clipboard.writeText(code.textContent);
      b.textContent = "Copied";
    }));

  // Refusals: poll for a newer refusal and reload the table in place.
  const table = document.getElementById("refusals");
  if (table) {
    const first = () => { const r = table.querySelector("tr.refusal"); return r ? r.dataset.event : ""; };
    setInterval(async () => {
      const r = await fetch("/console/api/refusals" + location.search, { credentials: "same-origin" });
      if (!r.ok) return;
      const { newest } = await r.json();
      if (newest === first()) return;
      const page = await fetch(location.href, { credentials: "same-origin" });
      const doc = new DOMParser().parseFromString(await page.text(), "text/html");
      const fresh = doc.querySelector("#refusals tbody");
      if (fresh) table.querySelector("tbody").replaceWith(fresh);
      const none = document.getElementById("no-refusals");
      if (none && fresh && fresh.children.length) none.remove();
    }, 1500);
  }

  // Playground: ConverseStream relayed as NDJSON lines, shown as they arrive.
  const chat = document.getElementById("chat");
  if (chat) chat.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = document.getElementById("output");
    const metrics = document.getElementById("metrics");
    const refusal = document.getElementById("refusal");
    out.textContent = ""; metrics.textContent = ""; refusal.hidden = true;
    const f = new FormData(chat);
    const body = JSON.stringify({
      model: f.get("model"), system: f.get("system"), prompt: f.get("prompt"),
      maxTokens: f.get("maxTokens"), temperature: f.get("temperature"),
    });
    const url = "/console/api/converse-stream?region=" + encodeURIComponent(document.body.dataset.region);
    const r = await fetch(url, { method: "POST", body, credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf } });
    if (!r.ok) { refusal.hidden = false; document.getElementById("sdk-error").textContent = await r.text(); return; }
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const ev = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
        if (ev.type === "delta") out.textContent += ev.text;
        else if (ev.type === "usage") {
          const u = ev.usage || {};
          metrics.textContent = `Input tokens ${u.inputTokens}, output tokens ${u.outputTokens}, latency ${ev.latencyMs} ms (first token ${ev.firstTokenMs} ms)`;
          metrics.dataset.done = "1";
        } else if (ev.type === "error") {
          refusal.hidden = false;
          document.getElementById("sdk-error").textContent = ev.sdk;
          document.getElementById("refusal-gate").textContent = ev.gate || "";
          document.getElementById("refusal-reason").textContent = ev.reason || "";
          document.getElementById("refusal-fix").textContent = ev.fix || "";
          metrics.dataset.done = "1";
        }
      }
    }
  });
});
