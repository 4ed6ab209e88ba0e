"""Static figures for papers: SVG always (written by hand, no dependency), PNG through
matplotlib when it is installed.

:func:`write_figures` writes whichever figures the store has data for:
``code_frequencies``, ``document_code_heatmap``, ``speaker_code_heatmap``,
``cooccurrence_matrix_segment``, ``cooccurrence_matrix_participant`` (code x code),
``cooccurrence_network`` (only with a dozen codes or fewer), ``cue_timeline`` and
``theme_sizes``. With a single document the document heatmap (one row) is left out:
the speaker heatmap says more.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.report import data as rdata
from qualcode.store import Store
from qualcode.store import report_queries as rq

FONT = "font-family=\"Helvetica, Arial, sans-serif\""
#: above this many codes a co-occurrence network is a hairball: only the matrix is drawn
NETWORK_MAX_CODES = 12


@dataclass
class FiguresResult:
    out_dir: Path
    svg: list[Path] = field(default_factory=list)
    png: list[Path] = field(default_factory=list)
    png_note: str | None = None


def _t(s: Any, n: int = 40) -> str:
    s = str(s)
    return escape(s if len(s) <= n else s[: n - 1] + "…")


def _svg(w: int, h: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" {FONT} '
            f'font-size="12"><title>{escape(title)}</title><rect width="100%" height="100%" fill="#fff"/>'
            + "".join(body) + "</svg>\n")


def _blue(t: float) -> str:
    t = min(1.0, max(0.0, t))
    a, m, b = (247, 251, 255), (66, 146, 198), (8, 48, 107)
    lo, hi, u = (a, m, t * 2) if t < 0.5 else (m, b, (t - 0.5) * 2)
    return "rgb({},{},{})".format(*(round(x + (y - x) * u) for x, y in zip(lo, hi)))


# --------------------------------------------------------------------------- SVG charts
def bar_svg(items: Sequence[tuple[str, float, str]], *, title: str, axis: str) -> str:
    label_w, bar_w, row = 210, 520, 22
    w, h = label_w + bar_w + 70, 40 + row * len(items) + 30
    mx = max((v for _, v, _ in items), default=1) or 1
    body = [f'<text x="10" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, (lab, v, col) in enumerate(items):
        y = 36 + i * row
        bw = max(1.0, v / mx * bar_w)
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_t(lab, 32)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{bw:.1f}" height="{row - 6}" fill="{col}"/>')
        body.append(f'<text x="{label_w + bw + 5:.1f}" y="{y + 15}">{v:,.0f}</text>')
    body.append(f'<line x1="{label_w}" x2="{label_w}" y1="36" y2="{36 + row * len(items)}" stroke="#999"/>')
    body.append(f'<text x="{label_w}" y="{h - 8}" fill="#555">{escape(axis)}</text>')
    return _svg(w, h, body, title)


def heatmap_svg(m: Mapping[str, Any], *, title: str) -> str:
    rows, cols, vals = m["rows"], m["cols"], np.asarray(m["values"], dtype=float)
    cell = max(18, min(40, 720 // max(1, len(cols))))
    label_w, top = 200, 130
    w, h = label_w + cell * len(cols) + 120, top + cell * len(rows) + 20
    mx = float(vals.max()) if vals.size else 1.0
    mx = mx or 1.0
    body = [f'<text x="10" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    for j, c in enumerate(cols):
        x = label_w + j * cell + cell / 2
        body.append(f'<text x="{x:.1f}" y="{top - 6}" transform="rotate(-50 {x:.1f} {top - 6})">{_t(c, 24)}</text>')
    for i, r in enumerate(rows):
        y = top + i * cell
        body.append(f'<text x="{label_w - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{_t(r, 30)}</text>')
        for j in range(len(cols)):
            v = vals[i, j]
            body.append(f'<rect x="{label_w + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                        f'fill="{_blue(v / mx)}"><title>{escape(str(r))} × {escape(str(cols[j]))}: {v:.0f}</title></rect>')
            if cell >= 22 and v > 0:
                fg = "#fff" if v / mx > 0.45 else "#222"
                body.append(f'<text x="{label_w + j * cell + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" '
                            f'text-anchor="middle" font-size="10" fill="{fg}">{v:.0f}</text>')
    return _svg(w, h, body, title)


def cooccurrence_svg(cooc: Mapping[str, Any], by: str, *, title: str) -> str:
    """Lower triangle of the code x code matrix (see :mod:`qualcode.report.cooccurrence`):
    the diagonal (grey) holds each code's count, the colour scale covers the pairs only."""
    codes, m = cooc["codes"], np.asarray(cooc[by]["counts"], dtype=float)
    n = len(codes)
    cell = max(18, min(44, 680 // max(1, n)))
    label_w, top, bottom = 250, 40, 150
    w, h = label_w + cell * n + 20, top + cell * n + bottom
    off = m[np.tril_indices(n, -1)] if n > 1 else np.zeros(0)
    mx = float(off.max()) if off.size and off.max() > 0 else 1.0
    unit = "participants" if by == "participant" else "segments"
    body = [f'<text x="10" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, c in enumerate(codes):
        y = top + i * cell
        body.append(f'<text x="{label_w - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{_t(c, 38)}</text>')
        xl, yl = label_w + i * cell + cell / 2, top + n * cell + 6
        body.append(f'<text x="{xl:.1f}" y="{yl}" text-anchor="end" transform="rotate(-50 {xl:.1f} {yl})">'
                    f"{_t(c, 24)}</text>")
        for j in range(i + 1):
            v, diag = m[i, j], i == j
            fill = "#e4e7eb" if diag else _blue(v / mx)
            tip = f"{c}: {v:.0f} {unit}" if diag else f"{c} + {codes[j]}: {v:.0f} {unit}"
            body.append(f'<rect x="{label_w + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                        f"<title>{escape(tip)}</title></rect>")
            if cell >= 22 and (diag or v > 0):
                fg = "#616e7c" if diag else ("#fff" if v / mx > 0.45 else "#222")
                body.append(f'<text x="{label_w + j * cell + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" '
                            f'text-anchor="middle" font-size="10" fill="{fg}">{v:.0f}</text>')
    return _svg(w, h, body, title)


def force_layout(nodes: Sequence[str], edges: Sequence[tuple[str, str, float]], *, seed: int = 0,
                 iterations: int = 300) -> np.ndarray:
    """Fruchterman-Reingold layout in the unit square (deterministic for a seed)."""
    n = len(nodes)
    if n == 0:
        return np.zeros((0, 2))
    idx = {v: i for i, v in enumerate(nodes)}
    ang = 2 * np.pi * np.arange(n) / n
    pos = np.c_[np.cos(ang), np.sin(ang)] * 0.4 + 0.5
    pos += np.random.default_rng(seed).normal(scale=0.01, size=pos.shape)
    k = math.sqrt(1.0 / n)
    e = [(idx[a], idx[b], w) for a, b, w in edges if a in idx and b in idx]
    wmax = max((w for _, _, w in e), default=1.0) or 1.0
    temp = 0.1
    for _ in range(iterations):
        d = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((d ** 2).sum(-1)) + 1e-9
        rep = (k * k / dist ** 2)[:, :, None] * d
        np.fill_diagonal(rep[:, :, 0], 0)
        np.fill_diagonal(rep[:, :, 1], 0)
        disp = rep.sum(1)
        for a, b, w in e:
            delta = pos[a] - pos[b]
            dd = np.linalg.norm(delta) + 1e-9
            f = dd * dd / k * (0.15 + 0.85 * w / wmax)
            disp[a] -= delta / dd * f
            disp[b] += delta / dd * f
        disp += (0.5 - pos) * 0.08 * k / 0.15
        ln = np.linalg.norm(disp, axis=1, keepdims=True) + 1e-9
        # clamped to the frame each step, so an unlinked node cannot squeeze the rest
        pos = np.clip(pos + disp / ln * np.minimum(ln, temp), 0.0, 1.0)
        temp = max(0.002, temp * 0.98)
    return pos


def network_svg(net: Mapping[str, Any], colors: Mapping[str, str], *, title: str) -> str:
    nodes = [n for n in net["nodes"] if n["n"] > 0]
    names = [n["id"] for n in nodes]
    edges = [(e["source"], e["target"], float(e["n"])) for e in net["edges"]]
    pos = force_layout(names, edges)
    w, h, pad = 860, 600, 80
    xy = {nm: (pad + p[0] * (w - 2 * pad), 50 + p[1] * (h - 100)) for nm, p in zip(names, pos)}
    emax = max((x[2] for x in edges), default=1) or 1
    nmax = max((n["n"] for n in nodes), default=1) or 1
    body = [f'<text x="10" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    for a, b, v in edges:
        if a in xy and b in xy:
            (x1, y1), (x2, y2) = xy[a], xy[b]
            body.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#9aa5b1" '
                        f'stroke-opacity="0.6" stroke-width="{1 + 7 * v / emax:.2f}"><title>{escape(a)} + {escape(b)}: '
                        f"{v:.0f}</title></line>")
    for n in nodes:
        x, y = xy[n["id"]]
        r = 5 + max(6.0, min(18.0, 110 / math.sqrt(len(nodes)))) * math.sqrt(n["n"] / nmax)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colors.get(n["id"], "#4e79a7")}" '
                    f'stroke="#fff" stroke-width="1.5"><title>{escape(n["id"])}: {n["n"]}</title></circle>')
        body.append(f'<text x="{x:.1f}" y="{y - r - 4:.1f}" text-anchor="middle" font-weight="bold">{_t(n["id"], 28)}</text>')
    return _svg(w, h, body, title)


def timeline_svg(cues: Mapping[str, Any], *, title: str) -> str:
    docs, types, events = cues["documents"], cues["types"], cues["events"]
    label_w, plot_w, row = 200, 760, 26
    w, h = label_w + plot_w + 30, 60 + row * len(docs) + 40
    pal = rdata.PALETTE
    body = [f'<text x="10" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    x = label_w
    for i, t in enumerate(types):
        body.append(f'<rect x="{x}" y="32" width="10" height="10" fill="{pal[i % len(pal)]}"/>'
                    f'<text x="{x + 14}" y="41">{escape(t)}</text>')
        x += 24 + 7 * len(t)
    for i, d in enumerate(docs):
        y = 56 + i * row
        body.append(f'<text x="{label_w - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end">{_t(d, 30)}</text>'
                    f'<line x1="{label_w}" x2="{label_w + plot_w}" y1="{y + row / 2:.1f}" y2="{y + row / 2:.1f}" stroke="#ccc"/>')
    for e in events:
        y = 56 + e[0] * row
        lane = e[2] % 3 - 1
        body.append(f'<rect x="{label_w + e[1] * plot_w - 1.5:.1f}" y="{y + 5 + lane * 4}" width="3" height="{row - 14}" '
                    f'fill="{pal[e[2] % len(pal)]}" fill-opacity="0.85"/>')
    ay = 56 + row * len(docs) + 14
    for t in (0, 0.25, 0.5, 0.75, 1):
        body.append(f'<text x="{label_w + t * plot_w:.1f}" y="{ay}" text-anchor="middle" fill="#555">{round(t * 100)}%</text>')
    body.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{ay + 16}" text-anchor="middle" fill="#555">position in the document</text>')
    return _svg(w, h, body, title)


# --------------------------------------------------------------------------- PNG (matplotlib)
def _png(kind: str, spec: Mapping[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patches  # noqa: F401
    import matplotlib.pyplot as plt

    if kind == "bar":
        items = spec["items"]
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(items) + 1.2))
        ax.barh([i[0] for i in items][::-1], [i[1] for i in items][::-1], color=[i[2] for i in items][::-1])
        ax.set_xlabel(spec["axis"])
        ax.set_title(spec["title"])
    elif kind == "heatmap":
        m = spec["m"]
        vals = np.asarray(m["values"], dtype=float)
        fig, ax = plt.subplots(figsize=(0.5 * len(m["cols"]) + 3, 0.4 * len(m["rows"]) + 2.5))
        im = ax.imshow(vals, cmap="Blues", aspect="auto")
        ax.set_xticks(range(len(m["cols"])), m["cols"], rotation=50, ha="right")
        ax.set_yticks(range(len(m["rows"])), m["rows"])
        fig.colorbar(im, ax=ax, label="coded segments")
        ax.set_title(spec["title"])
    elif kind == "cooc":
        cooc, by = spec["cooc"], spec["by"]
        codes, m = cooc["codes"], np.asarray(cooc[by]["counts"], dtype=float)
        n = len(codes)
        shown = np.where(np.tril(np.ones((n, n), dtype=bool), -1), m, np.nan)
        fig, ax = plt.subplots(figsize=(0.45 * n + 4, 0.45 * n + 3))
        im = ax.imshow(shown, cmap="Blues", aspect="equal")
        for i in range(n):
            ax.add_patch(matplotlib.patches.Rectangle((i - 0.5, i - 0.5), 1, 1, color="#e4e7eb"))
            ax.text(i, i, f"{m[i, i]:.0f}", ha="center", va="center", fontsize=7, color="#616e7c")
            top = np.nanmax(shown) if n > 1 and np.isfinite(shown).any() else 1.0
            for j in range(i):
                if m[i, j]:
                    ax.text(j, i, f"{m[i, j]:.0f}", ha="center", va="center", fontsize=7,
                            color="#fff" if m[i, j] > 0.55 * top else "#222")
        ax.set_xticks(range(n), codes, rotation=50, ha="right", fontsize=8)
        ax.set_yticks(range(n), codes, fontsize=8)
        for sp in ax.spines.values():
            sp.set_visible(False)
        fig.colorbar(im, ax=ax, label=f"{by}s with both codes", shrink=0.6)
        ax.set_title(spec["title"])
    elif kind == "network":
        net, colors = spec["net"], spec["colors"]
        nodes = [n for n in net["nodes"] if n["n"] > 0]
        names = [n["id"] for n in nodes]
        edges = [(e["source"], e["target"], float(e["n"])) for e in net["edges"]]
        pos = dict(zip(names, force_layout(names, edges)))
        fig, ax = plt.subplots(figsize=(8, 6))
        emax = max((e[2] for e in edges), default=1)
        for a, b, v in edges:
            ax.plot([pos[a][0], pos[b][0]], [pos[a][1], pos[b][1]], color="#9aa5b1", alpha=0.6, lw=1 + 5 * v / emax)
        nmax = max((n["n"] for n in nodes), default=1)
        ax.scatter([pos[n][0] for n in names], [pos[n][1] for n in names],
                   s=[80 + 900 * n["n"] / nmax for n in nodes], c=[colors.get(n, "#4e79a7") for n in names], zorder=3)
        for n in names:
            ax.annotate(n, pos[n], textcoords="offset points", xytext=(0, 12), ha="center", fontsize=9)
        ax.axis("off")
        ax.set_title(spec["title"])
    else:  # timeline
        cues = spec["cues"]
        fig, ax = plt.subplots(figsize=(10, 0.4 * len(cues["documents"]) + 1.5))
        for ti, t in enumerate(cues["types"]):
            ev = [e for e in cues["events"] if e[2] == ti]
            ax.scatter([e[1] * 100 for e in ev], [e[0] for e in ev], marker="|", s=120, label=t,
                       color=rdata.PALETTE[ti % len(rdata.PALETTE)])
        ax.set_yticks(range(len(cues["documents"])), cues["documents"])
        ax.invert_yaxis()
        ax.set_xlabel("position in the document (%)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=6, fontsize=8)
        ax.set_title(spec["title"])
    fig.tight_layout()
    fig.savefig(path, dpi=200)
    plt.close(fig)


# --------------------------------------------------------------------------- entry point
def write_figures(store: Store, out_dir: str | os.PathLike[str], *, source: str | None = None,
                  png: bool = True) -> FiguresResult:
    """Write SVG (and, with matplotlib installed, PNG) figures to ``out_dir``.

    ``source`` picks the coding source (a run id or ``coder:NAME``; default: the latest
    coding run).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir {str(out_dir)!r} is a file; expected a directory", param="out_dir")
    out.mkdir(parents=True, exist_ok=True)
    res = FiguresResult(out_dir=out)
    srcs = rdata.sources(store)
    if source is not None and source not in {s["key"] for s in srcs}:
        try:
            source = store.run(source).id
        except Exception as exc:
            raise InputError(f"no coding source {source!r}; expected a run id or coder:NAME",
                             hint="`qualcode runs` lists runs") from exc
    src = source or rdata.default_source(srcs, store)
    specs: list[tuple[str, str, dict[str, Any]]] = []
    if src is not None:
        agg = rdata.source_aggregates(store, src, max_rows=40)
        meta = rq.code_meta(store)
        for f in agg["freq"]:
            meta.setdefault(f["code"], {})
        colors = rdata.assign_colors(meta)
        label = next((s["label"] for s in srcs if s["key"] == src), src)
        if agg["freq"]:
            specs.append(("code_frequencies", "bar", {
                "items": [(f["code"], f["segments"], colors[f["code"]]) for f in agg["freq"]],
                "title": f"Code frequencies ({label})", "axis": "segments coded"}))
        if len(agg["heat_doc"]["rows"]) > 1 or (agg["heat_doc"]["rows"] and not agg["heat_speaker"]["rows"]):
            specs.append(("document_code_heatmap", "heatmap", {"m": agg["heat_doc"], "title": "Documents × codes"}))
        if agg["heat_speaker"]["rows"]:
            specs.append(("speaker_code_heatmap", "heatmap", {"m": agg["heat_speaker"], "title": "Speakers × codes"}))
        if len(agg["cooc"]["codes"]) > 1 and agg["network"]["edges"]:
            for by in ("segment", "participant"):
                if agg["cooc"][by]["units"]:
                    specs.append((f"cooccurrence_matrix_{by}", "cooc", {
                        "cooc": agg["cooc"], "by": by,
                        "title": f"Code co-occurrence ({by}s with both codes)"}))
        if agg["network"]["edges"] and len(agg["network"]["nodes"]) <= NETWORK_MAX_CODES:
            specs.append(("cooccurrence_network", "network", {"net": agg["network"], "colors": colors,
                                                              "title": "Code co-occurrence"}))
    cues = rdata.cues(store)
    if cues:
        specs.append(("cue_timeline", "timeline", {"cues": cues, "title": "Behavioural cues"}))
    for th in rdata.themes(store)[-1:]:
        top = [t for t in th["themes"] if not t.get("parent")] or th["themes"]
        items = [(t["name"], t.get("n_segments") or 0, rdata.PALETTE[0]) for t in
                 sorted(top, key=lambda t: -(t.get("n_segments") or 0))[:30]]
        if items:
            specs.append(("theme_sizes", "bar", {"items": items, "title": "Themes", "axis": "segments"}))
    for name, kind, spec in specs:
        if kind == "bar":
            svg = bar_svg(spec["items"], title=spec["title"], axis=spec["axis"])
        elif kind == "heatmap":
            svg = heatmap_svg(spec["m"], title=spec["title"])
        elif kind == "network":
            svg = network_svg(spec["net"], spec["colors"], title=spec["title"])
        elif kind == "cooc":
            svg = cooccurrence_svg(spec["cooc"], spec["by"], title=spec["title"])
        else:
            svg = timeline_svg(spec["cues"], title=spec["title"])
        p = out / f"{name}.svg"
        p.write_text(svg, encoding="utf-8")
        res.svg.append(p)
    if png and specs:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            res.png_note = "PNG not written: matplotlib is not installed (pip install matplotlib); SVG files are."
        else:
            for name, kind, spec in specs:
                p = out / f"{name}.png"
                _png(kind, spec, p)
                res.png.append(p)
    return res
