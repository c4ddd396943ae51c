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

  function escalate(row) {
    var key = row.getAttribute("data-key");
    var path = "/api/listings/" + key.split("/").map(encodeURIComponent).join("/").replace(/%3A/g, ":") + "/decision";
    fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({decision: "escalate", token: row.getAttribute("data-token")})
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { window.location.search = "?msg=" + encodeURIComponent(body.detail || ("error " + r.status)); return; }
        window.location.reload();
      });
    });
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

  // ---- listing page: c focuses the legal basis, d the dismissal reason, e escalates
  var listing = document.getElementById("listing");
  if (listing) {
    var focus = listing.getAttribute("data-focus");
    if (focus === "confirm" && document.getElementById("legal-basis")) document.getElementById("legal-basis").focus();
    if (focus === "dismiss" && document.getElementById("dismiss-reason")) document.getElementById("dismiss-reason").focus();
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev)) return;
    var row = currentRow();
    if (rows.length) {
      if (ev.key === "j") { select(current + 1); ev.preventDefault(); return; }
      if (ev.key === "k") { select(current - 1); ev.preventDefault(); return; }
      if (!row) return;
      if (ev.key === "o" || ev.key === "Enter") { window.location.href = row.getAttribute("data-href"); return; }
      if (ev.key === "x") { var cb = row.querySelector('input[type="checkbox"]'); cb.checked = !cb.checked; return; }
      if (ev.key === "c") { window.location.href = row.getAttribute("data-href") + "?decide=confirm#decide"; return; }
      if (ev.key === "d") { window.location.href = row.getAttribute("data-href") + "?decide=dismiss#decide"; return; }
      if (ev.key === "e") { escalate(row); return; }
      return;
    }
    if (listing) {
      var el;
      if (ev.key === "c" && (el = document.getElementById("legal-basis"))) { el.focus(); ev.preventDefault(); }
      else if (ev.key === "d" && (el = document.getElementById("dismiss-reason"))) { el.focus(); ev.preventDefault(); }
      else if (ev.key === "e" && (el = document.getElementById("escalate-form"))) { el.submit(); }
      else if (ev.key === "u") { window.location.href = "/queue"; }
    }
  });
})();
