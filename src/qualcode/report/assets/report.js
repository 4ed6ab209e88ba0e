/* qualcode report: a small hand-written SVG chart library and table helpers.
   No dependencies, no network. Data comes from <script id="qc-data" type="application/json">. */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"];

  function reportError(msg) {
    var box = document.getElementById("qc-errors");
    if (box) { box.hidden = false; box.textContent += msg + "\n"; }
    document.body.setAttribute("data-qc-errors", "1");
  }
  window.addEventListener("error", function (e) {
    reportError("Error: " + (e.message || e) + (e.lineno ? " (line " + e.lineno + ")" : ""));
  });

  // ------------------------------------------------------------------ DOM helpers
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }
  function s(tag, attrs, parent) {
    var el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    if (parent) parent.appendChild(el);
    return el;
  }
  function setAttrs(el, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else el.setAttribute(k, v);
    });
  }
  function append(el, kids) {
    if (kids === null || kids === undefined) return;
    if (!Array.isArray(kids)) kids = [kids];
    kids.forEach(function (k) {
      if (k === null || k === undefined) return;
      el.appendChild(typeof k === "string" || typeof k === "number" ? document.createTextNode(String(k)) : k);
    });
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function fmt(v, d) {
    if (v === null || v === undefined || v === "") return "";
    if (typeof v === "number") {
      if (Number.isInteger(v)) return v.toLocaleString("en");
      return v.toFixed(d === undefined ? 3 : d);
    }
    return String(v);
  }
  function trunc(t, n) { t = String(t); return t.length > n ? t.slice(0, n - 1) + "…" : t; }
  function svgRoot(el, w, hgt, label) {
    var svg = s("svg", { "class": "qc-chart", viewBox: "0 0 " + w + " " + hgt, width: w, height: hgt, role: "img",
                         "aria-label": label, fill: "#323f4b" });
    el.appendChild(svg);
    return svg;
  }

  // ------------------------------------------------------------------ tooltip
  var tip = h("div", { "class": "qc-tip", role: "tooltip" });
  document.body.appendChild(tip);
  document.addEventListener("mouseover", function (e) {
    var t = e.target && e.target.closest ? e.target.closest("[data-tip]") : null;
    if (t) { tip.textContent = t.getAttribute("data-tip"); tip.style.display = "block"; }
    else tip.style.display = "none";
  });
  document.addEventListener("mousemove", function (e) {
    if (tip.style.display !== "block") return;
    var x = e.clientX + 14, y = e.clientY + 14;
    var r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = e.clientX - r.width - 10;
    if (y + r.height > window.innerHeight - 8) y = e.clientY - r.height - 10;
    tip.style.left = x + "px"; tip.style.top = y + "px";
  });

  // ------------------------------------------------------------------ colours
  var D = JSON.parse(document.getElementById("qc-data").textContent);
  var codeIndex = {};
  Object.keys(D.codes || {}).forEach(function (c, i) { codeIndex[c] = i; });
  function codeColor(name, i) {
    var m = (D.codes || {})[name];
    if (m && m.color && /^#[0-9a-fA-F]{3,6}$/.test(m.color)) return m.color;
    var k = codeIndex[name] !== undefined ? codeIndex[name] : (i || 0);
    return PALETTE[k % PALETTE.length];
  }
  function blues(t) { // 0..1 -> white..dark blue
    t = Math.max(0, Math.min(1, t));
    var a = [247, 251, 255], b = [8, 48, 107], m = [66, 146, 198];
    var c = t < 0.5 ? mix(a, m, t * 2) : mix(m, b, (t - 0.5) * 2);
    return "rgb(" + c.join(",") + ")";
  }
  function mix(a, b, t) { return a.map(function (x, i) { return Math.round(x + (b[i] - x) * t); }); }

  // ------------------------------------------------------------------ bar chart
  function barChart(el, items, opts) {
    opts = opts || {};
    clear(el);
    if (!items.length) { el.appendChild(h("p", { "class": "muted", text: "Nothing to show." })); return null; }
    var labelW = opts.labelWidth || 200, barW = opts.width || 560, rowH = 22, top = 8;
    var w = labelW + barW + 70, hgt = top + items.length * rowH + 24;
    var max = Math.max.apply(null, items.map(function (d) { return d.value; })) || 1;
    var svg = svgRoot(el, w, hgt, opts.label || "bar chart");
    svg.setAttribute("data-chart", "bar");
    items.forEach(function (d, i) {
      var y = top + i * rowH;
      s("text", { x: labelW - 8, y: y + rowH / 2 + 4, "text-anchor": "end", text: trunc(d.label, 32) }, svg);
      var bw = Math.max(1, (d.value / max) * barW);
      s("rect", { "class": "hov bar", x: labelW, y: y + 3, width: bw, height: rowH - 6, rx: 2, fill: d.color || PALETTE[0],
                  "data-tip": d.tip || (d.label + ": " + fmt(d.value)) }, svg);
      s("text", { x: labelW + bw + 5, y: y + rowH / 2 + 4, text: fmt(d.value) }, svg);
    });
    s("line", { "class": "axis", x1: labelW, x2: labelW, y1: top, y2: top + items.length * rowH }, svg);
    if (opts.axisLabel) s("text", { x: labelW, y: hgt - 6, fill: "#616e7c", text: opts.axisLabel }, svg);
    return svg;
  }

  // ------------------------------------------------------------------ heatmap
  function heatmap(el, m, opts) {
    opts = opts || {};
    clear(el);
    if (!m || !m.rows.length || !m.cols.length) { el.appendChild(h("p", { "class": "muted", text: "Nothing to show." })); return null; }
    var norm = opts.normalise;
    var vals = m.values.map(function (row) {
      var tot = row.reduce(function (a, b) { return a + b; }, 0) || 1;
      return row.map(function (v) { return norm ? v / tot : v; });
    });
    var max = 0;
    vals.forEach(function (r) { r.forEach(function (v) { if (v > max) max = v; }); });
    max = max || 1;
    var labelW = 190, cell = Math.max(16, Math.min(60, Math.floor(760 / m.cols.length))), topH = 120;
    var w = labelW + cell * m.cols.length + 120, hgt = topH + cell * m.rows.length + 10;
    var svg = svgRoot(el, w, hgt, opts.label || "heatmap");
    svg.setAttribute("data-chart", "heatmap");
    m.cols.forEach(function (c, j) {
      var x = labelW + j * cell + cell / 2;
      s("text", { x: x, y: topH - 6, transform: "rotate(-50 " + x + " " + (topH - 6) + ")", text: trunc(c, 24) }, svg);
    });
    m.rows.forEach(function (r, i) {
      var y = topH + i * cell;
      s("text", { x: labelW - 6, y: y + cell / 2 + 4, "text-anchor": "end", text: trunc(r, 30) }, svg);
      var rowTot = m.values[i].reduce(function (a, b) { return a + b; }, 0) || 1;
      m.cols.forEach(function (c, j) {
        var raw = m.values[i][j], v = vals[i][j];
        s("rect", { "class": "hov cell", x: labelW + j * cell, y: y, width: cell - 1, height: cell - 1, fill: blues(v / max),
                    "data-tip": r + " × " + c + "\n" + fmt(raw) + " coded segments (" + (100 * raw / rowTot).toFixed(1) + "% of the row)" }, svg);
        if (cell >= 24 && raw > 0) {
          s("text", { x: labelW + j * cell + cell / 2, y: y + cell / 2 + 4, "text-anchor": "middle",
                      fill: v / max > 0.45 ? "#fff" : "#1f2933", "pointer-events": "none",
                      text: norm ? Math.round(100 * v) + "" : fmt(raw) }, svg);
        }
      });
    });
    return svg;
  }

  // ------------------------------------------------------------------ co-occurrence matrix
  // Lower triangle of the code x code matrix (it is symmetric): the diagonal, in grey,
  // holds each code's own count; the colour scale is set by the off-diagonal cells only,
  // so that common codes do not wash out the pairs.
  function cooccurrenceMatrix(el, C, opts) {
    opts = opts || {};
    clear(el);
    var codes = (C && C.codes) || [];
    var by = opts.by === "participant" ? "participant" : "segment";
    var M = C ? C[by] : null;
    if (codes.length < 2 || !M) { el.appendChild(h("p", { "class": "muted", text: "Fewer than two codes: nothing co-occurs." })); return null; }
    var jac = opts.values === "jaccard", vals = jac ? M.jaccard : M.counts, unit = by === "participant" ? "participants" : "segments";
    var n = codes.length, max = 0, i, j;
    for (i = 0; i < n; i++) for (j = 0; j < i; j++) if (vals[i][j] > max) max = vals[i][j];
    max = max || 1;
    var labelW = 250, cell = Math.max(18, Math.min(46, Math.floor(680 / n))), top = 8, bottom = 150;
    var w = labelW + cell * n + 20, hgt = top + cell * n + bottom;
    var svg = svgRoot(el, w, hgt, "code co-occurrence matrix (" + unit + ")");
    svg.setAttribute("data-chart", "cooccurrence");
    codes.forEach(function (c, r) {
      var y = top + r * cell;
      s("text", { x: labelW - 6, y: y + cell / 2 + 4, "text-anchor": "end", text: trunc(c, 38), "data-tip": c, "class": "hov" }, svg);
      var xl = labelW + r * cell + cell / 2, yl = top + n * cell + 6;
      s("text", { x: xl, y: yl, "text-anchor": "end", transform: "rotate(-50 " + xl + " " + yl + ")", text: trunc(c, 24) }, svg);
      for (j = 0; j <= r; j++) {
        var v = vals[r][j], raw = M.counts[r][j], x = labelW + j * cell, diag = j === r;
        var tipText = diag ? c + ": " + fmt(raw) + " " + unit
          : codes[r] + " + " + codes[j] + ": " + fmt(raw) + " " + unit + " with both (Jaccard " + fmt(M.jaccard[r][j], 2) + ")\n" +
            codes[r] + ": " + fmt(M.counts[r][r]) + ", " + codes[j] + ": " + fmt(M.counts[j][j]);
        s("rect", { "class": "hov cell", x: x, y: y, width: cell - 1, height: cell - 1,
                    fill: diag ? "#e4e7eb" : blues(v / max), "data-tip": tipText }, svg);
        if (cell >= 22 && (diag || raw > 0)) {
          s("text", { x: x + cell / 2, y: y + cell / 2 + 4, "text-anchor": "middle", "font-size": 11, "pointer-events": "none",
                      fill: !diag && v / max > 0.45 ? "#fff" : (diag ? "#616e7c" : "#1f2933"),
                      text: jac && !diag ? (v ? v.toFixed(2).replace(/^0/, "") : "") : fmt(raw) }, svg);
        }
      }
    });
    return svg;
  }
  function drawCooc() {
    var S = (D.bySource || {})[currentSource()];
    var el = document.getElementById("qc-cooc");
    if (!S || !el) return;
    var by = (document.getElementById("qc-cooc-by") || {}).value || "segment";
    var values = (document.getElementById("qc-cooc-values") || {}).value || "count";
    cooccurrenceMatrix(el, S.cooc, { by: by, values: values });
    var note = document.getElementById("qc-cooc-note");
    if (note && S.cooc) note.textContent = fmt(S.cooc[by].units) + (by === "participant" ? " participants" : " coded segments");
    var tEl = document.getElementById("qc-cooc-table");
    if (tEl && S.cooc) {
      clear(tEl);
      tEl.appendChild(buildTable([
        { key: "a", label: "code A" }, { key: "b", label: "code B" },
        { key: "segments", label: "segments with both", num: true }, { key: "segments_jaccard", label: "Jaccard (segments)", num: true, digits: 2 },
        { key: "participants", label: "participants with both", num: true },
        { key: "participants_jaccard", label: "Jaccard (participants)", num: true, digits: 2 }], S.cooc.pairs));
      enhanceTable(tEl.querySelector("table"));
    }
  }

  // ------------------------------------------------------------------ network (force layout)
  function forceLayout(nodes, edges, w, hgt, pad) {
    // Fruchterman-Reingold inside the frame (positions are clamped every step, so an
    // unlinked node cannot fly off and squeeze the rest), with gravity to the centre.
    var n = nodes.length, pos = [], i, j, it;
    var cx = w / 2, cy = hgt / 2;
    for (i = 0; i < n; i++) {
      var a = 2 * Math.PI * i / Math.max(1, n);
      pos.push([cx + Math.cos(a) * (w / 2 - pad) * 0.8, cy + Math.sin(a) * (hgt / 2 - pad) * 0.8]);
    }
    var idx = {};
    nodes.forEach(function (d, k) { idx[d.id] = k; });
    var area = (w - 2 * pad) * (hgt - 2 * pad), k = Math.sqrt(area / Math.max(1, n)), maxE = 1;
    edges.forEach(function (e) { if (e.n > maxE) maxE = e.n; });
    var temp = w / 10;
    for (it = 0; it < 300; it++) {
      var disp = pos.map(function () { return [0, 0]; });
      for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
          var dx = pos[i][0] - pos[j][0], dy = pos[i][1] - pos[j][1];
          var d = Math.sqrt(dx * dx + dy * dy) || 0.01, f = (k * k) / d;
          disp[i][0] += dx / d * f; disp[i][1] += dy / d * f;
          disp[j][0] -= dx / d * f; disp[j][1] -= dy / d * f;
        }
      }
      edges.forEach(function (e) {
        var a2 = idx[e.source], b2 = idx[e.target];
        if (a2 === undefined || b2 === undefined) return;
        var dx = pos[a2][0] - pos[b2][0], dy = pos[a2][1] - pos[b2][1];
        var d = Math.sqrt(dx * dx + dy * dy) || 0.01, f = (d * d) / k * (0.15 + 0.85 * e.n / maxE);
        disp[a2][0] -= dx / d * f; disp[a2][1] -= dy / d * f;
        disp[b2][0] += dx / d * f; disp[b2][1] += dy / d * f;
      });
      for (i = 0; i < n; i++) {
        disp[i][0] += (cx - pos[i][0]) * 0.08 * k / 40; disp[i][1] += (cy - pos[i][1]) * 0.08 * k / 40;
        var dl = Math.sqrt(disp[i][0] * disp[i][0] + disp[i][1] * disp[i][1]) || 1;
        pos[i][0] = Math.max(pad, Math.min(w - pad, pos[i][0] + disp[i][0] / dl * Math.min(dl, temp)));
        pos[i][1] = Math.max(pad, Math.min(hgt - pad, pos[i][1] + disp[i][1] / dl * Math.min(dl, temp)));
      }
      temp = Math.max(1, temp * 0.98);
    }
    return pos;
  }
  function network(el, net, opts) {
    opts = opts || {};
    clear(el);
    var nodes = (net.nodes || []).filter(function (d) { return d.n > 0; });
    if (!nodes.length || !(net.edges || []).length) {
      el.appendChild(h("p", { "class": "muted", text: "No two codes were applied to the same segment." }));
      return null;
    }
    var w = 900, hgt = nodes.length > 20 ? 640 : 480;
    var pos = forceLayout(nodes, net.edges, w, hgt, 60);
    var idx = {};
    nodes.forEach(function (d, k) { idx[d.id] = k; });
    var svg = svgRoot(el, w, hgt, opts.label || "code co-occurrence network");
    svg.setAttribute("data-chart", "network");
    var maxE = 1, maxN = 1;
    net.edges.forEach(function (e) { if (e.n > maxE) maxE = e.n; });
    nodes.forEach(function (d) { if (d.n > maxN) maxN = d.n; });
    var g = s("g", {}, svg);
    net.edges.forEach(function (e) {
      var a = idx[e.source], b = idx[e.target];
      if (a === undefined || b === undefined) return;
      s("line", { "class": "edge hov", x1: pos[a][0], y1: pos[a][1], x2: pos[b][0], y2: pos[b][1],
                  "stroke-width": 1 + 7 * e.n / maxE,
                  "data-tip": e.source + " + " + e.target + ": " + fmt(e.n) + " segments (Jaccard " + fmt(e.jaccard, 2) + ")" }, g);
    });
    nodes.forEach(function (d, k) {
      var r = 5 + Math.max(6, Math.min(18, 110 / Math.sqrt(nodes.length))) * Math.sqrt(d.n / maxN);
      s("circle", { "class": "node hov", cx: pos[k][0], cy: pos[k][1], r: r, fill: codeColor(d.id, k),
                    "data-tip": d.id + ": " + fmt(d.n) + " segments" }, svg);
      s("text", { x: pos[k][0], y: pos[k][1] - r - 4, "text-anchor": "middle", "font-weight": "600",
                  "pointer-events": "none", text: trunc(d.id, 28) }, svg);
    });
    return svg;
  }

  // ------------------------------------------------------------------ timeline
  function timeline(el, cues) {
    clear(el);
    if (!cues || !cues.events.length) { el.appendChild(h("p", { "class": "muted", text: "No cues." })); return null; }
    var labelW = 200, plotW = 820, rowH = 28, top = 10;
    var w = labelW + plotW + 20, hgt = top + cues.documents.length * rowH + 34;
    var legend = h("div", { "class": "legend" });
    cues.types.forEach(function (t, i) {
      legend.appendChild(h("span", {}, [h("span", { "class": "chip", style: "background:" + PALETTE[i % PALETTE.length] }), t]));
    });
    el.appendChild(legend);
    var svg = svgRoot(el, w, hgt, "behavioural cues along each document");
    svg.setAttribute("data-chart", "timeline");
    cues.documents.forEach(function (d, i) {
      var y = top + i * rowH;
      s("text", { x: labelW - 8, y: y + rowH / 2 + 4, "text-anchor": "end", text: trunc(d, 30) }, svg);
      s("line", { "class": "axis", x1: labelW, x2: labelW + plotW, y1: y + rowH / 2, y2: y + rowH / 2 }, svg);
    });
    cues.events.forEach(function (e) {
      var y = top + e[0] * rowH, x = labelW + e[1] * plotW, lane = (e[2] % 3) - 1;
      s("rect", { "class": "hov mark", x: x - 1.5, y: y + 5 + lane * 4, width: 3, height: rowH - 14,
                  fill: PALETTE[e[2] % PALETTE.length], "fill-opacity": 0.85,
                  "data-tip": cues.types[e[2]] + " at " + Math.round(e[1] * 100) + "% of " + cues.documents[e[0]] +
                              (e[3] ? "\nspeaker: " + e[3] : "") + (e[4] ? "\n“" + e[4] + "”" : "") }, svg);
    });
    var ay = top + cues.documents.length * rowH + 14;
    [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
      s("text", { x: labelW + t * plotW, y: ay, "text-anchor": "middle", fill: "#616e7c", text: Math.round(t * 100) + "%" }, svg);
    });
    s("text", { x: labelW + plotW / 2, y: ay + 16, "text-anchor": "middle", fill: "#616e7c", text: "position in the document" }, svg);
    return svg;
  }

  // ------------------------------------------------------------------ tables
  function cellValue(td) {
    var v = td.getAttribute("data-v");
    if (v === null) v = td.textContent.trim();
    var num = parseFloat(String(v).replace(/,/g, ""));
    return isNaN(num) || !/^[-+]?[\d,.]+(e[-+]?\d+)?%?$/i.test(String(v).trim()) ? String(v).toLowerCase() : num;
  }
  function enhanceTable(table) {
    if (table.getAttribute("data-enhanced")) return;
    table.setAttribute("data-enhanced", "1");
    var tbody = table.tBodies[0];
    if (!tbody) return;
    var rows = Array.prototype.slice.call(tbody.rows);
    var wrap = table.parentNode;
    var tools = h("div", { "class": "qc-tabletools" });
    var count = h("span", { text: rows.length + " rows" });
    if (rows.length > 6) {
      var search = h("input", { "class": "qc-search", type: "search", placeholder: "Search table…", "aria-label": "search table" });
      search.addEventListener("input", function () {
        var q = search.value.toLowerCase(), shown = 0;
        rows.forEach(function (r) {
          var ok = !q || r.textContent.toLowerCase().indexOf(q) >= 0;
          r.style.display = ok ? "" : "none";
          if (ok) shown++;
        });
        count.textContent = shown + " of " + rows.length + " rows";
      });
      tools.appendChild(search);
    }
    tools.appendChild(count);
    wrap.parentNode.insertBefore(tools, wrap);
    Array.prototype.forEach.call(table.tHead ? table.tHead.rows[0].cells : [], function (th, col) {
      th.setAttribute("title", "click to sort");
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("sorted-asc");
        Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        rows.sort(function (a, b) {
          var x = cellValue(a.cells[col]), y = cellValue(b.cells[col]);
          if (typeof x === typeof y) return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
          return (typeof x === "number" ? -1 : 1) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { tbody.appendChild(r); });
      });
    });
  }
  function buildTable(columns, rows) {
    var thead = h("thead", {}, h("tr", {}, columns.map(function (c) { return h("th", { "class": c.num ? "num" : null, text: c.label }); })));
    var tbody = h("tbody", {}, rows.map(function (r) {
      return h("tr", {}, columns.map(function (c) {
        var v = r[c.key];
        var td = h("td", { "class": c.num ? "num" : null });
        if (c.render) append(td, c.render(r)); else td.textContent = fmt(v, c.digits);
        if (typeof v === "number") td.setAttribute("data-v", v);
        return td;
      }));
    }));
    var table = h("table", { "class": "qc-table" }, [thead, tbody]);
    return h("div", { "class": "qc-tablewrap" }, table);
  }

  // ------------------------------------------------------------------ source-dependent sections
  // the coded span with its keyword hits in <b class="qc-kw"> (offsets are into span)
  function keywordParts(span, kws) {
    if (!kws || !kws.length) return [span];
    var parts = [], pos = 0;
    kws.slice().sort(function (a, b) { return a.start - b.start; }).forEach(function (k) {
      if (k.start < pos || k.end > span.length) return;
      if (k.start > pos) parts.push(span.slice(pos, k.start));
      parts.push(h("b", { "class": "qc-kw", title: k.keyword || "", text: span.slice(k.start, k.end) }));
      pos = k.end;
    });
    if (pos < span.length) parts.push(span.slice(pos));
    return parts;
  }

  // Exemplars: one collapsible block per code (the first open), a table of contents of the
  // codes above them, and each quote trimmed to its best sentence(s) with exact offsets.
  var QUOTE_METHOD = { embedding: "closest to the code by embedding similarity",
                       keywords: "most words in common with the code's name and definition",
                       opening: "no words in common with the code: the opening of the answer",
                       whole: "the whole coded span" };
  function quoteNode(e) {
    var q = h("blockquote", {});
    var pieces = e.pieces && e.pieces.length ? e.pieces : [{ text: e.span, speaker: null }];
    var many = pieces.some(function (p) { return p.speaker && p.speaker !== pieces[0].speaker; });
    if (e.before) append(q, h("span", { "class": "gap", text: "… " }));
    pieces.forEach(function (p, i) {
      if (i) append(q, h("span", { "class": "gap", text: " … " }));
      if (p.speaker && (many || i === 0)) append(q, h("span", { "class": "who", text: p.speaker + ": " }));
      // line breaks of hard-wrapped transcripts read as spaces; keyword hits stay marked
      append(q, h("mark", {}, keywordParts(String(p.text), p.keywords).map(function (x) {
        return typeof x === "string" ? x.replace(/[ \t]*\n[ \t]*/g, " ") : x;
      })));
    });
    if (e.after) append(q, h("span", { "class": "gap", text: " …" }));
    return q;
  }
  function renderExemplars(el, S, filter) {
    clear(el);
    var byCode = {};
    S.exemplars.forEach(function (e) { (byCode[e.code] = byCode[e.code] || []).push(e); });
    var q = (filter || "").toLowerCase();
    var toc = h("nav", { "class": "qc-toc", "aria-label": "codes" });
    var blocks = [];
    S.freq.forEach(function (f, i) {
      var ex = (byCode[f.code] || []).filter(function (e) {
        return !q || (f.code + " " + e.before + e.span + e.after + " " + e.document).toLowerCase().indexOf(q) >= 0;
      });
      if (!ex.length) return;
      var meta = (D.codes || {})[f.code] || {};
      var id = "qc-ex-" + i;
      var box = h("details", { "class": "qc-code", id: id, open: blocks.length === 0 || !!q ? "open" : null }, [
        h("summary", {}, [h("span", { "class": "chip", style: "background:" + codeColor(f.code, i) }), f.code,
                          h("span", { "class": "muted", text: "  " + fmt(f.codings) + " codings · " + ex.length + " quotes" })]),
        meta.definition ? h("p", { "class": "def", text: meta.definition }) : null]);
      ex.forEach(function (e) {
        var bits = [e.document];
        var locs = (e.pieces || []).map(function (p) { return p.start + "–" + p.end; });
        bits.push("chars " + (locs.length ? locs.join(", ") : e.start + "–" + e.end) +
                  (e.trimmed ? " of " + e.start + "–" + e.end + " (" + fmt(e.coded_chars) + " coded)" : ""));
        if (e.score !== null && e.score !== undefined) bits.push("score " + fmt(e.score, 3));
        if (e.status && e.status !== "proposed") bits.push(e.status);
        box.appendChild(h("div", { "class": "qc-ex" }, [
          h("div", { "class": "meta", text: bits.join(" · "), title: e.method ? "quote: " + (QUOTE_METHOD[e.method] || e.method) : null }),
          quoteNode(e),
          e.rationale ? h("div", { "class": "why", text: "Rationale: " + e.rationale }) : null,
          e.keywords && e.keywords.length ? h("div", { "class": "why", text: "Matched keywords: " +
            e.keywords.map(function (k) { return k.text + (k.keyword ? " (" + k.keyword + ")" : ""); }).join(", ") }) : null]));
      });
      toc.appendChild(h("a", { href: "#" + id, "data-target": id }, [
        h("span", { "class": "chip", style: "background:" + codeColor(f.code, i) }), trunc(f.code, 40)]));
      blocks.push(box);
    });
    if (!blocks.length) { el.appendChild(h("p", { "class": "muted", text: "No quotes match." })); return; }
    toc.addEventListener("click", function (ev) {
      var a = ev.target.closest ? ev.target.closest("a[data-target]") : null;
      if (a) { var d = document.getElementById(a.getAttribute("data-target")); if (d) d.open = true; }
    });
    var methods = {};
    S.exemplars.forEach(function (e) { if (e.method && e.method !== "whole") methods[e.method] = 1; });
    var how = [];
    if (methods.embedding) how.push("closest to the code by embedding similarity");
    if (methods.keywords) how.push("sharing most words with the code's name and definition");
    el.appendChild(toc);
    if (how.length || methods.opening) el.appendChild(h("p", { "class": "muted", text: "Each quote is the sentence(s) of the coded segment " +
      (how.length ? how.join(" or ") : "at the opening of the answer") +
      (methods.opening && how.length ? "; where no sentence shares a word with the code, the opening of the answer" : "") +
      ". Characters are exact offsets in the document; “…” marks text left out." }));
    blocks.forEach(function (b) { el.appendChild(b); });
  }

  function renderSource(key) {
    var S = (D.bySource || {})[key];
    if (!S) return;
    var freqEl = document.getElementById("qc-freq-chart");
    if (freqEl) {
      barChart(freqEl, S.freq.map(function (f, i) {
        return { label: f.code, value: f.segments, color: codeColor(f.code, i),
                 tip: f.code + "\n" + fmt(f.segments) + " segments, " + fmt(f.codings) + " codings, " + fmt(f.documents) +
                      " documents" + (f.mean_score !== null ? "\nmean score " + fmt(f.mean_score, 3) : "") };
      }), { label: "code frequencies", axisLabel: "segments coded" });
      var tEl = document.getElementById("qc-freq-table");
      clear(tEl);
      tEl.appendChild(buildTable([
        { key: "code", label: "code", render: function (r) { return [h("span", { "class": "chip", style: "background:" + codeColor(r.code) }), r.code]; } },
        { key: "segments", label: "segments", num: true }, { key: "codings", label: "codings", num: true },
        { key: "documents", label: "documents", num: true }, { key: "mean_score", label: "mean score", num: true, digits: 3 },
        { key: "definition", label: "definition" }],
        S.freq.map(function (f) { var m = (D.codes || {})[f.code] || {}; return Object.assign({ definition: m.definition || "" }, f); })));
      enhanceTable(tEl.querySelector("table"));
    }
    var heatEl = document.getElementById("qc-heat");
    if (heatEl) drawHeat();
    drawCooc();
    var netEl = document.getElementById("qc-network");
    var netBox = document.getElementById("qc-network-box");
    if (netEl && (!netBox || netBox.open)) network(netEl, S.network);
    var exEl = document.getElementById("qc-exemplars");
    if (exEl) renderExemplars(exEl, S, (document.getElementById("qc-ex-search") || {}).value);
    document.querySelectorAll(".qc-source-label").forEach(function (n) {
      var src = (D.sources || []).filter(function (x) { return x.key === key; })[0];
      n.textContent = src ? src.label : key;
    });
  }
  function currentSource() {
    var sel = document.getElementById("qc-source");
    return sel ? sel.value : D.defaultSource;
  }
  function drawHeat() {
    var S = (D.bySource || {})[currentSource()];
    var by = (document.getElementById("qc-heat-by") || {}).value || "doc";
    var norm = !!(document.getElementById("qc-heat-norm") || {}).checked;
    var m = by === "speaker" ? S.heat_speaker : S.heat_doc;
    heatmap(document.getElementById("qc-heat"), m, { normalise: norm, label: "heatmap" });
    var note = document.getElementById("qc-heat-note");
    if (note) {
      var bits = [];
      if (m && m.hidden_rows) bits.push(m.hidden_rows + " smaller rows not shown.");
      if (by === "speaker" && m && m.hidden_moderators && m.hidden_moderators.length)
        bits.push("Moderators (" + m.hidden_moderators.join(", ") + ") not shown: they take part in every question block.");
      note.textContent = bits.join(" ");
    }
  }

  function init() {
    var sel = document.getElementById("qc-source");
    if (sel) sel.addEventListener("change", function () { renderSource(sel.value); });
    ["qc-heat-by", "qc-heat-norm"].forEach(function (id) {
      var e = document.getElementById(id);
      if (e) e.addEventListener("change", drawHeat);
    });
    ["qc-cooc-by", "qc-cooc-values"].forEach(function (id) {
      var e = document.getElementById(id);
      if (e) e.addEventListener("change", drawCooc);
    });
    var nb = document.getElementById("qc-network-box");
    if (nb) nb.addEventListener("toggle", function () {
      var S = (D.bySource || {})[currentSource()];
      if (nb.open && S) network(document.getElementById("qc-network"), S.network);
    });
    var exs = document.getElementById("qc-ex-search");
    if (exs) exs.addEventListener("input", function () {
      renderExemplars(document.getElementById("qc-exemplars"), D.bySource[currentSource()], exs.value);
    });
    if (D.defaultSource) renderSource(currentSource());
    var tl = document.getElementById("qc-timeline");
    if (tl && D.cues) timeline(tl, D.cues);
    document.querySelectorAll("[data-bar]").forEach(function (el) {
      var spec = JSON.parse(el.getAttribute("data-bar"));
      barChart(el, spec.items, spec.opts);
    });
    document.querySelectorAll("table.qc-table").forEach(enhanceTable);
  }
  try {
    init();
  } catch (err) {
    reportError("Error: " + (err && err.stack ? err.stack : err));
  }
  document.body.setAttribute("data-qc-charts", String(document.querySelectorAll("svg.qc-chart").length));
  document.body.setAttribute("data-qc-ready", "1");
})();
