// interdict review UI: keyboard shortcuts and small conveniences. Loaded from /static (CSP script-src 'self').
// Never builds HTML from strings: scraped text is only ever rendered by the server, escaped.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function typing(ev) {
    var t = ev.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  // ---- review queue: j/k move, o/Enter open, x select, c/d open the decision form, e escalates
  var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tr.row"));
  var current = -1;

  function select(i) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows[current].classList.add("current");
    rows[current].scrollIntoView({block: "nearest"});
  }

  function currentRow() { return current >= 0 ? rows[current] : null; }

  function withParam(href, param) { return href + (href.indexOf("?") < 0 ? "?" : "&") + param; }

  // A decision from the queue: the same row position stays selected after the reload, so the keys go on working.
  function decide(row, decision, basis) {
    var key = row.getAttribute("data-key");
    var path = "/api/listings/" + key.split("/").map(encodeURIComponent).join("/").replace(/%3A/g, ":") + "/decision";
    var body = {decision: decision, token: row.getAttribute("data-token")};
    if (basis) body.legal_basis = basis;
    fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (out) {
        if (!r.ok) { showError(typeof out.detail === "string" ? out.detail : ("error " + r.status)); return; }
        try { sessionStorage.setItem("queue-current", String(current)); } catch (e) { /* private mode */ }
        window.location.reload();
      });
    });
  }

  function showError(text) {
    var el = document.getElementById("queue-error");
    if (el) { el.textContent = text; el.hidden = false; }
  }

  var selectAll = document.getElementById("select-all");
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      rows.forEach(function (r) { r.querySelector('input[type="checkbox"]').checked = selectAll.checked; });
    });
  }
  rows.forEach(function (r, i) {
    r.addEventListener("click", function (ev) { if (ev.target.tagName !== "A" && ev.target.tagName !== "INPUT") select(i); });
  });

  try {
    var kept = sessionStorage.getItem("queue-current");
    if (kept !== null && rows.length) { sessionStorage.removeItem("queue-current"); select(parseInt(kept, 10) || 0); }
  } catch (e) { /* private mode */ }

  // ---- listing page: c confirms with the tenant's default legal basis (or focuses the choice when there is
  // none), d focuses the dismissal reason, e escalates; each decision opens the next listing of the queue
  var listing = document.getElementById("listing");
  if (listing) {
    var focus = listing.getAttribute("data-focus");
    if (focus === "confirm" && document.getElementById("legal-basis")) document.getElementById("legal-basis").focus();
    if (focus === "dismiss" && document.getElementById("dismiss-reason")) document.getElementById("dismiss-reason").focus();
  }

  function queueQs() { return new URLSearchParams(window.location.search).get("queue") || ""; }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev)) return;
    var row = currentRow();
    if (rows.length) {
      if (ev.key === "j") { select(current + 1); ev.preventDefault(); return; }
      if (ev.key === "k") { select(current - 1); ev.preventDefault(); return; }
      if (!row) return;
      if (ev.key === "o" || ev.key === "Enter") { window.location.href = row.getAttribute("data-href"); return; }
      if (ev.key === "x") { var cb = row.querySelector('input[type="checkbox"]'); cb.checked = !cb.checked; return; }
      if (ev.key === "c") {
        if (row.getAttribute("data-default-basis")) { decide(row, "confirm", row.getAttribute("data-default-basis")); return; }
        window.location.href = withParam(row.getAttribute("data-href"), "decide=confirm") + "#decide"; return;
      }
      if (ev.key === "d") { window.location.href = withParam(row.getAttribute("data-href"), "decide=dismiss") + "#decide"; return; }
      if (ev.key === "e") { decide(row, "escalate"); return; }
      return;
    }
    if (listing) {
      var el;
      if (ev.key === "c" && (el = document.getElementById("legal-basis"))) {
        ev.preventDefault();
        if (el.value) { document.getElementById("confirm-form").submit(); } else { el.focus(); }
      }
      else if (ev.key === "d" && (el = document.getElementById("dismiss-reason"))) { el.focus(); ev.preventDefault(); }
      else if (ev.key === "e" && (el = document.getElementById("escalate-form"))) { el.submit(); }
      else if (ev.key === "u") { window.location.href = "/queue" + (queueQs() ? "?" + queueQs() : ""); }
    }
  });
})();
