
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("board-data").textContent);
  const L = D.leads, n = L.id.length, size = D.page_size;
  const body = document.getElementById("lead-rows");
  const detail = document.getElementById("detail");
  const info = document.getElementById("page-info");
  let tier = "all", segment = "all", query = "", pageNo = 0, view = [], selected = -1;
  let newlyHot = false;
  const ARROWS = {new: "new", up: "\u25b2", down: "\u25bc", steady: "\u25cf"};

  function el(tag, cls, content) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }
  function bar(value, kind) {
    const cell = el("div", "barcell"), track = el("div", "bar"), fill = el("div", "fill " + kind);
    fill.style.width = Math.max(0, Math.min(100, value)) + "%";
    track.appendChild(fill);
    cell.append(track, el("span", "barval", value));
    return cell;
  }
  function matches(i, q) {
    if (L.id[i].toLowerCase().includes(q)) return true;
    const shown = L.display[i] || [];
    return shown.some(function (v) { return v !== null && v.toLowerCase().includes(q); });
  }
  function filter() {
    const q = query.trim().toLowerCase();
    view = [];
    for (let i = 0; i < n; i++) {
      if (tier !== "all" && D.tiers[L.tier[i]] !== tier) continue;
      if (segment !== "all" && String(L.segment[i]) !== segment) continue;
      if (newlyHot && !L.newly_hot[i]) continue;
      if (q && !matches(i, q)) continue;
      view.push(i);
    }
    pageNo = 0;
    render();
  }
  function render() {
    const pages = Math.max(1, Math.ceil(view.length / size));
    pageNo = Math.max(0, Math.min(pageNo, pages - 1));
    body.replaceChildren();
    for (const i of view.slice(pageNo * size, (pageNo + 1) * size)) {
      const row = el("tr", "lead-row" + (i === selected ? " selected" : ""));
      row.dataset.lead = L.id[i];
      row.dataset.tier = D.tiers[L.tier[i]];
      row.tabIndex = 0;
      row.appendChild(el("td", "num", L.rank[i]));
      row.appendChild(el("td", "lead-id", L.id[i]));
      (L.display[i] || D.columns.map(function () { return null; })).forEach(function (v, k) {
        row.appendChild(el("td", "display display-" + k, v === null ? "" : v));
      });
      row.appendChild(el("td", "num score", L.score[i]));
      row.appendChild(changeCell(i));
      const badge = el("span", "badge " + D.tiers[L.tier[i]], D.tiers[L.tier[i]]);
      const tierCell = el("td", "tier"); tierCell.appendChild(badge); row.appendChild(tierCell);
      const fit = el("td"); fit.appendChild(bar(L.fit[i], "fit")); row.appendChild(fit);
      const intent = el("td"); intent.appendChild(bar(L.intent[i], "intent")); row.appendChild(intent);
      row.appendChild(el("td", "num", chance(i)));
      row.appendChild(el("td", "mql", L.mql[i] ? "MQL" : ""));
      row.addEventListener("click", function () { show(i); });
      row.addEventListener("keydown", function (e) { if (e.key === "Enter") show(i); });
      body.appendChild(row);
    }
    info.textContent = "Page " + (pageNo + 1).toLocaleString("en") + " of " +
      pages.toLocaleString("en") + " \u00b7 " +
      view.length.toLocaleString("en") + " of " + n.toLocaleString("en") + " leads";
    document.getElementById("prev").disabled = pageNo === 0;
    document.getElementById("next").disabled = pageNo >= pages - 1;
  }
  function changeCell(i) {  // the trend since the previous run: an arrow and the change
    const trend = L.trend[i] < 0 ? null : D.trends[L.trend[i]];
    const cell = el("td", "num change" + (trend ? " " + trend : ""));
    if (trend === null) return cell;
    const change = L.change[i];
    cell.textContent = trend === "new" ? "new" :
      ARROWS[trend] + " " + (change > 0 ? "+" : "") + change;
    cell.title = trend === "new" ? "No score at the previous run" :
      "Score change since the previous run (" + trend + ")";
    if (L.newly_hot[i]) cell.appendChild(el("span", "badge hot newly", "newly hot"));
    return cell;
  }
  function sparkline(values, dates) {  // the lead's score over the runs, drawn as SVG
    const ns = "http://www.w3.org/2000/svg", w = 260, h = 60, pad = 6;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("class", "history");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Score over the last " + values.length + " runs");
    const x = function (k) { return pad + (w - 2 * pad) * k / Math.max(1, values.length - 1); };
    const y = function (v) { return h - pad - (h - 2 * pad) * v / 100; };
    let path = "";
    values.forEach(function (v, k) {
      if (v === null) return;
      path += (path ? " L" : "M") + x(k).toFixed(1) + " " + y(v).toFixed(1);
      const dot = document.createElementNS(ns, "circle");
      dot.setAttribute("cx", x(k).toFixed(1)); dot.setAttribute("cy", y(v).toFixed(1));
      dot.setAttribute("r", "2.5");
      const tip = document.createElementNS(ns, "title");
      tip.textContent = dates[k] + ": " + v;
      dot.appendChild(tip);
      svg.appendChild(dot);
    });
    const line = document.createElementNS(ns, "path");
    line.setAttribute("d", path); line.setAttribute("fill", "none");
    svg.insertBefore(line, svg.firstChild);
    return svg;
  }
  function chance(i) {  // a rules file's rows have points and no probability
    if (L.probability[i] === null) return L.points[i] === null ? "" : L.points[i].toLocaleString("en") + " pts";
    return (100 * L.probability[i]).toFixed(1) + "%";
  }
  function show(i) {
    selected = i;
    for (const row of body.children) row.classList.toggle("selected", row.dataset.lead === L.id[i]);
    detail.replaceChildren();
    detail.appendChild(el("h2", "detail-title", "Lead " + L.id[i]));
    D.columns.forEach(function (c, k) {
      const v = (L.display[i] || [])[k];
      if (v !== null && v !== undefined) detail.appendChild(el("div", "muted detail-display", D.labels[k] + ": " + v));
    });
    const head = el("div");
    head.append(el("span", "big", L.score[i]), el("span", "muted", " / 100  "),
                el("span", "badge " + D.tiers[L.tier[i]], D.tiers[L.tier[i]]),
                el("span", "muted", "  " + (L.probability[i] === null
                  ? L.points[i].toLocaleString("en") + " points (a rules file: no probability)"
                  : chance(i) + " chance to convert within the horizon") +
                  (L.mql[i] ? " \u00b7 MQL" : "")));
    detail.appendChild(head);
    const seg = D.segments[L.segment[i]];
    detail.appendChild(el("div", "muted detail-model", "Scored by " + D.versions[L.model[i]] +
      (seg ? " (segment " + seg + ")" : " (global model)")));
    if (L.trend[i] >= 0) {
      const trend = D.trends[L.trend[i]];
      detail.appendChild(el("div", "muted detail-trend", trend === "new"
        ? "New since the previous run"
        : "Since the previous run: " + ARROWS[trend] + " " + (L.change[i] > 0 ? "+" : "") +
          L.change[i] + " (" + trend + ")" + (L.newly_hot[i] ? " \u00b7 newly hot" : "")));
    }
    if (D.history) {
      const values = D.history.scores[i];
      if (values.filter(function (v) { return v !== null; }).length > 1) {
        detail.appendChild(el("h2", "", "Score over the runs"));
        detail.appendChild(sparkline(values, D.history.as_of));
        detail.appendChild(el("div", "muted", D.history.as_of[0] + " to " +
          D.history.as_of[D.history.as_of.length - 1]));
      }
    }
    const bars = el("table");
    const fitRow = el("tr"); fitRow.append(el("td", "", "Fit (who they are)"));
    const fitCell = el("td"); fitCell.appendChild(bar(L.fit[i], "fit")); fitRow.appendChild(fitCell);
    const intentRow = el("tr"); intentRow.append(el("td", "", "Intent (what they do)"));
    const intentCell = el("td"); intentCell.appendChild(bar(L.intent[i], "intent"));
    intentRow.appendChild(intentCell);
    bars.append(fitRow, intentRow);
    detail.appendChild(bars);
    const reasons = L.reasons[i];
    detail.appendChild(el("h2", "", "Why this score"));
    if (!reasons.length) { detail.appendChild(el("p", "muted", "No reasons recorded.")); return; }
    let total = 0, low = 0, high = 0;
    const steps = [];
    for (let k = 0; k < reasons.length; k += 2) {
      const start = total; total += reasons[k + 1];
      steps.push([D.texts[reasons[k]], reasons[k + 1], start, total]);
      low = Math.min(low, total); high = Math.max(high, total);
    }
    const span = (high - low) || 1, x = function (v) { return 100 * (v - low) / span; };
    const chart = el("div", "waterfall");
    for (const step of steps) {
      const row = el("div", "wf-row reason");
      const track = el("div", "wf-track"), mark = el("div", "wf-bar " + (step[1] > 0 ? "up" : "down"));
      const a = x(Math.min(step[2], step[3])), b = x(Math.max(step[2], step[3]));
      mark.style.left = a + "%"; mark.style.width = Math.max(0.5, b - a) + "%";
      const zero = el("div", "wf-zero"); zero.style.left = x(0) + "%";
      track.append(zero, mark);
      row.append(el("div", "reason-text", step[0]), track,
                 el("div", "impact " + (step[1] > 0 ? "up" : "down"),
                    (step[1] > 0 ? "+" : "") + step[1].toFixed(2)));
      chart.appendChild(row);
    }
    detail.appendChild(chart);
    const words = el("ul", "reasons");
    for (const step of steps) {
      words.appendChild(el("li", step[1] > 0 ? "up" : "down",
        (step[1] > 0 ? "Raises the score: " : "Lowers the score: ") + step[0]));
    }
    detail.appendChild(words);
    detail.appendChild(el("p", "note", "Bars are SHAP contributions in log-odds, largest first; " +
      "green raises the chance to convert, red lowers it."));
  }
  document.querySelectorAll("button[data-tier]").forEach(function (button) {
    button.addEventListener("click", function () {
      tier = button.dataset.tier;
      document.querySelectorAll("button[data-tier]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
      filter();
    });
  });
  document.getElementById("search").addEventListener("input", function (e) {
    query = e.target.value; filter();
  });
  document.getElementById("prev").addEventListener("click", function () { pageNo--; render(); });
  document.getElementById("next").addEventListener("click", function () { pageNo++; render(); });
  const hotButton = document.getElementById("newly-hot");
  if (hotButton) hotButton.addEventListener("click", function () {
    newlyHot = !newlyHot;
    hotButton.setAttribute("aria-pressed", String(newlyHot));
    filter();
  });
  const choice = document.getElementById("segment");
  if (choice) choice.addEventListener("change", function (e) { segment = e.target.value; filter(); });
  filter();
})();
