// qualcode review workbench: keyboard-first review. Plain JS, no dependencies.
// Server-rendered HTML (Jinja2, autoescaped) is swapped in for lists and panels; any
// text this script shows itself goes through textContent, never innerHTML.
(function () {
  "use strict";
  const meta = (n) => document.querySelector(`meta[name="${n}"]`).getAttribute("content");
  const CSRF = meta("qc-csrf");
  let CODES = JSON.parse(meta("qc-codes"));
  const BLIND = meta("qc-blind") === "1";
  const isQueue = document.body.classList.contains("page-queue");
  const isDoc = document.body.classList.contains("page-doc");
  let cur = 0;

  function toast(msg, error) {
    const t = document.getElementById("toast");
    t.textContent = msg;
    t.className = "show" + (error ? " error" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.className = ""; }, error ? 4000 : 1500);
  }

  async function post(url, data) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Qualcode-CSRF": CSRF },
      body: JSON.stringify(data || {}),
    });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const msg = body && body.error ? body.error + (body.hint ? " — " + body.hint : "") : `request failed (${r.status})`;
      throw new Error(msg);
    }
    return body;
  }

  async function getHTML(url) {
    const r = await fetch(url, { credentials: "same-origin" });
    if (!r.ok) throw new Error(`could not load ${url} (${r.status})`);
    return r.text();
  }

  async function refreshPanel(which) {
    const el = document.getElementById(which);
    if (el) el.innerHTML = await getHTML(`/fragment/${which}`);
  }

  // ------------------------------------------------------------ items (queue) / segments (doc)
  function items() {
    return Array.from(document.querySelectorAll(isQueue ? "#queue-list li.item" : "#document section.seg:not(.context)"));
  }

  function select(i, scroll) {
    const all = items();
    if (!all.length) return;
    cur = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((el, j) => el.classList.toggle("current", j === cur));
    if (scroll !== false) all[cur].scrollIntoView({ block: "nearest" });
    sessionStorage.setItem("qc-cur-" + location.pathname, String(cur));
  }

  function current() { return items()[cur]; }

  function pager() { return document.querySelector(".pager"); }

  function goPage(delta) {
    const p = pager();
    if (!p) return false;
    const page = Number(p.dataset.page) + delta;
    if (page < 0 || page >= Number(p.dataset.pages)) return false;
    const q = p.dataset.query;
    sessionStorage.setItem("qc-cur-/", delta > 0 ? "0" : "999999");
    location.href = "/?" + (q ? q + "&" : "") + "page=" + page;
    return true;
  }

  async function reloadQueue(advance) {
    const p = pager();
    const q = p ? p.dataset.query : "";
    const page = p ? p.dataset.page : "0";
    document.getElementById("queue").innerHTML = await getHTML(`/fragment/queue?${q ? q + "&" : ""}page=${page}`);
    select(cur + (advance ? 1 : 0));
  }

  async function reloadDoc() {
    const html = await getHTML(location.pathname);
    const doc = new DOMParser().parseFromString(html, "text/html");
    const keep = cur;
    for (const id of ["document", "agreement"]) {
      const fresh = doc.getElementById(id);
      if (fresh) document.getElementById(id).replaceChildren(...fresh.childNodes);
    }
    select(keep, false);
  }

  // body[data-state] is "busy" while a decision is saved and the page refreshed
  function busy(on) { document.body.dataset.state = on ? "busy" : "idle"; }

  async function decided(data, message, advance) {
    busy(true);
    try {
      await post("/api/decide", data);
      toast(message);
      if (isQueue) await reloadQueue(advance); else await reloadDoc();
      await refreshPanel("agreement");
    } catch (e) { toast(e.message, true); } finally { busy(false); }
  }

  // ------------------------------------------------------------ selection -> exact offsets
  function offsetOf(node, off) {
    if (node.nodeType === Node.TEXT_NODE) {
      const piece = node.parentElement.closest(".piece");
      return piece ? Number(piece.dataset.start) + off : null;
    }
    if (node.classList && node.classList.contains("piece")) {
      return Number(node.dataset.start) + (off > 0 ? node.textContent.length : 0);
    }
    const pieces = node.querySelectorAll ? node.querySelectorAll(".piece") : [];
    if (!pieces.length) return null;
    const p = off > 0 ? pieces[pieces.length - 1] : pieces[0];
    return Number(p.dataset.start) + (off > 0 ? p.textContent.length : 0);
  }

  function selection() {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) return null;
    const r = sel.getRangeAt(0);
    const start = offsetOf(r.startContainer, r.startOffset);
    const end = offsetOf(r.endContainer, r.endOffset);
    if (start === null || end === null || end <= start) return null;
    return { start, end };
  }

  // ------------------------------------------------------------ actions
  function pickCode(n) {
    const code = CODES[n - 1];
    if (!code) { toast(`no code ${n} in the codebook`, true); return; }
    if (isDoc) {
      const docId = Number(document.getElementById("document").dataset.documentId);
      const sel = selection();
      if (sel) {
        window.getSelection().removeAllRanges();
        return decided({ action: "add", code, document_id: docId, start: sel.start, end: sel.end },
          `added ${code} to the selection`, false);
      }
      const seg = current();
      if (!seg) return;
      return decided({ action: "add", code, segment_id: Number(seg.dataset.segmentId) }, `added ${code}`, false);
    }
    const it = current();
    if (!it) return;
    if (!BLIND && it.dataset.codingId) {
      const same = it.dataset.code === code;
      return decided({ action: same ? "accept" : "change", coding_id: Number(it.dataset.codingId), code },
        same ? `accepted ${code}` : `changed to ${code}`, true);
    }
    return decided({ action: "add", code, segment_id: Number(it.dataset.segmentId) }, `added ${code}`, false);
  }

  function decideCurrent(action) {
    const it = current();
    if (!it || !isQueue) return;
    if (!it.dataset.codingId) { toast(BLIND ? "blind review: use 1–9 or n" : "no AI code here: use 1–9 or n", true); return; }
    const label = action === "accept" ? "accepted" : "rejected";
    return decided({ action, coding_id: Number(it.dataset.codingId) }, `${label} ${it.dataset.code}`, true);
  }

  function noCode() {
    const it = current();
    if (!it) return;
    return decided({ action: "none", segment_id: Number(it.dataset.segmentId) }, "no code applies", true);
  }

  async function undo() {
    busy(true);
    try {
      const r = await post("/api/undo", {});
      toast(r.undone ? `undid: ${r.undone.action}${r.undone.code ? " " + r.undone.code : ""}` : "nothing to undo");
      if (isQueue) await reloadQueue(false); else await reloadDoc();
      await refreshPanel("agreement");
    } catch (e) { toast(e.message, true); } finally { busy(false); }
  }

  function openDoc() {
    const it = current();
    if (it && isQueue) location.href = `/doc/${it.dataset.documentId}#seg-${it.dataset.segmentId}`;
  }

  function toggleHelp(show) {
    const h = document.getElementById("help");
    h.hidden = show === undefined ? !h.hidden : !show;
  }

  // ------------------------------------------------------------ span details (document view)
  function row(dl, k, v) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    dl.append(dt, dd);
  }

  async function showDetails(ids) {
    const panel = document.getElementById("detail");
    panel.replaceChildren();
    const h = document.createElement("h2"); h.textContent = "Coding";
    panel.append(h);
    for (const id of ids) {
      const r = await fetch(`/api/coding/${id}`, { credentials: "same-origin" });
      const d = await r.json();
      const dl = document.createElement("dl");
      if (!r.ok) { row(dl, "error", d.error || r.status); panel.append(dl); continue; }
      row(dl, "code", d.code);
      if (d.kind === "ai") {
        row(dl, "score (raw)", d.score === null ? "–" : Number(d.score).toFixed(3));
        row(dl, "calibrated", d.calibrated === null || d.calibrated === undefined ? "–" : Number(d.calibrated).toFixed(3));
        if (d.threshold !== null) row(dl, "threshold", String(d.threshold));
        row(dl, "status", d.status);
        // evidence: LLM rationale, the quote and how it was verified, matched keywords...
        const ev = d.evidence || {};
        for (const [k, v] of Object.entries(ev)) {
          if (k === "calibrated") continue;
          row(dl, k.replace(/_/g, " "), typeof v === "string" ? v : JSON.stringify(v));
        }
        row(dl, "run", `${d.run.id} (${d.run.step}, ${d.run.model || "?"})`);
        row(dl, "parameters", JSON.stringify(d.run.params));
      } else {
        row(dl, "yours", `${d.coder}, characters ${d.start}–${d.end}`);
        row(dl, "evidence", JSON.stringify(d.evidence));
      }
      panel.append(dl);
    }
    panel.hidden = false;
  }

  // ------------------------------------------------------------ codebook and memos
  async function codebookAction(ev) {
    const b = ev.target.closest("button");
    if (!b) return;
    try {
      if (b.id === "addcode") {
        const sel = isDoc ? selection() : null;  // read before the prompts can disturb it
        const name = prompt(sel ? "Name of the new code (it is added to the selected text):" : "Name of the new code:");
        if (!name) return;
        const definition = prompt(`Definition of ${name}:`) || "";
        const r = await post("/api/codebook/code", { name, definition });
        CODES = r.codes.map((c) => c.name);
        toast(`added ${name} (codebook version ${r.version})`);
        if (sel) {
          const docId = Number(document.getElementById("document").dataset.documentId);
          await decided({ action: "add", code: name, document_id: docId, start: sel.start, end: sel.end },
            `added ${name} to the selection`, false);
        }
        location.reload();
      } else if (b.classList.contains("editdef")) {
        const code = b.dataset.code;
        const old = b.closest("li").querySelector(".def").textContent;
        const definition = prompt(`New definition of ${code}:`, old);
        if (definition === null) return;
        const r = await post("/api/codebook/definition", { name: code, definition });
        toast(`definition saved (codebook version ${r.version})`);
        await refreshPanel("codebook");
      } else if (b.classList.contains("memobtn")) {
        const text = prompt(`Memo on ${b.dataset.code}:`);
        if (!text) return;
        await post("/api/memo", { code: b.dataset.code, text });
        toast("memo saved");
        await refreshPanel("codebook");
      }
    } catch (e) { toast(e.message, true); }
  }

  async function segmentMemo() {
    const it = current();
    if (!it) return;
    const text = prompt("Memo on this segment:");
    if (!text) return;
    try {
      await post("/api/memo", { segment_id: Number(it.dataset.segmentId), text });
      toast("memo saved");
      if (isDoc) await reloadDoc();
    } catch (e) { toast(e.message, true); }
  }

  // ------------------------------------------------------------ wiring
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    const k = e.key;
    if (k === "Escape") { toggleHelp(false); return; }
    if (k === "?") { toggleHelp(); e.preventDefault(); return; }
    if (!document.getElementById("help").hidden) return;
    if (k === "j") { if (isQueue && cur === items().length - 1 && goPage(1)) return; select(cur + 1); }
    else if (k === "k") { select(cur - 1); }
    else if (k === "a" && !BLIND) decideCurrent("accept");
    else if (k === "r" && !BLIND) decideCurrent("reject");
    else if (k === "n") noCode();
    else if (k === "u") undo();
    else if (k === "o") openDoc();
    else if (k === "m") segmentMemo();
    else if (k === "]") goPage(1);
    else if (k === "[") goPage(-1);
    else if (/^[1-9]$/.test(k)) pickCode(Number(k));
    else return;
    e.preventDefault();
  });

  document.addEventListener("click", (e) => {
    const hl = e.target.closest ? e.target.closest(".hl") : null;
    if (hl) {
      const ids = [];
      for (let el = hl; el && el.classList.contains("hl"); el = el.parentElement.closest(".hl")) ids.push(el.dataset.codingId);
      showDetails(ids);
    }
    const box = e.target.closest ? e.target.closest(isQueue ? "li.item" : "section.seg") : null;
    if (box && items().indexOf(box) >= 0) select(items().indexOf(box), false);
  });
  document.getElementById("codebook").addEventListener("click", codebookAction);
  document.getElementById("helpbtn").addEventListener("click", () => toggleHelp());
  document.getElementById("help").addEventListener("click", () => toggleHelp(false));
  const pick = document.getElementById("docpick");
  pick.addEventListener("change", () => { if (pick.value) location.href = "/doc/" + pick.value; });

  // start where the reviewer was (or at the segment in the URL hash)
  let start = Number(sessionStorage.getItem("qc-cur-" + location.pathname) || 0);
  if (isDoc && location.hash.startsWith("#seg-")) {
    const target = document.getElementById(location.hash.slice(1));
    if (target) start = items().indexOf(target);
  }
  select(start, isDoc || start > 0);
  busy(false);
})();
