"use strict";
// Renders the waterfalls from the JSON in #data: no network, no libraries.
(function () {
  var data = JSON.parse(document.getElementById("data").textContent);
  var main = document.getElementById("sessions");
  var details = document.getElementById("details");
  var selected = null;
  var rows = {};
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function human(us) {
    if (us < 1000) return Math.round(us) + "µs";
    if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 2 : 1) + "ms";
    if (us < 6e7) return (us / 1e6).toFixed(2) + "s";
    return (us / 6e7).toFixed(1) + "min";
  }
  function show(span, row) {
    if (selected) selected.classList.remove("selected");
    selected = row;
    row.classList.add("selected");
    details.textContent = "";
    var close = el("button", "", "×");
    close.title = "close";
    close.onclick = function () { details.hidden = true; row.classList.remove("selected"); };
    details.appendChild(close);
    details.appendChild(el("h3", "", span.name));
    var table = el("table");
    var rows = [["kind", span.kind], ["OTLP kind", span.otlp_kind], ["span id", span.id], ["parent", span.parent || "—"], ["start", span.at],
                ["duration", human(span.dur)]];
    if (span.error !== null) rows.push(["error", span.error]);
    span.attrs.forEach(function (kv) { rows.push(kv); });
    rows.forEach(function (kv) {
      var tr = el("tr");
      tr.appendChild(el("td", "", kv[0]));
      tr.appendChild(el("td", "", String(kv[1])));
      table.appendChild(tr);
    });
    details.appendChild(table);
    details.hidden = false;
  }
  data.sessions.forEach(function (s) {
    var sec = el("section", "session");
    sec.appendChild(el("h2", "", "Session " + s.id));
    sec.appendChild(el("div", "line", s.line));
    var total = Math.max(s.dur, 1);
    var axis = el("div", "axis");
    axis.appendChild(el("div", "", s.spans.length + " spans, from " + s.at));
    var ticks = el("div", "ticks");
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var t = el("span", "", human(total * f));
      t.style.left = (f * 100) + "%";
      ticks.appendChild(t);
    });
    axis.appendChild(ticks);
    sec.appendChild(axis);
    s.spans.forEach(function (span) {
      var row = el("div", "row");
      var label = el("div", "label");
      label.style.paddingLeft = (span.depth * 14) + "px";
      label.appendChild(el("span", "kind k-" + span.kind, span.kind));
      label.appendChild(document.createTextNode(span.name));
      if (span.error !== null) label.appendChild(el("span", "mark", "✗"));
      var track = el("div", "track");
      var bar = el("div", "bar k-" + span.kind + (span.error !== null ? " err" : ""));
      var left = Math.min(span.start / total, 1) * 100;
      var width = Math.max(Math.min(span.dur / total, 1) * 100, 0.3);
      bar.style.left = left + "%";
      bar.style.width = width + "%";
      var note = human(span.dur) + (span.tokens ? " · " + span.tokens : "") + (span.cost ? " · " + span.cost : "");
      // Beside the bar, or inside it when the bar reaches the right edge.
      bar.appendChild(el("span", left + width > 72 ? "note inside" : "note", note));
      track.appendChild(bar);
      row.title = span.name + " [" + span.kind + "] " + note + (span.error !== null ? " ✗ " + span.error : "");
      row.appendChild(label);
      row.appendChild(track);
      row.onclick = function () {
        show(span, row);
        history.replaceState(null, "", "#span=" + span.id);
      };
      rows[span.id] = { span: span, row: row };
      sec.appendChild(row);
    });
    main.appendChild(sec);
  });
  // A link to a span (#span=<id>, as a click sets it) opens its details.
  var linked = /^#span=([0-9a-f]{16})$/.exec(location.hash);
  if (linked && rows[linked[1]]) {
    show(rows[linked[1]].span, rows[linked[1]].row);
    rows[linked[1]].row.scrollIntoView();
  }
})();
