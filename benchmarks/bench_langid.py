"""Language identification on short survey answers: py3langid vs lingua.

qualcode detects each document's (and each CSV row's) language at ingest. Short answers
are the hard case ("ok", "sí", "no sé"), so this script scores the candidate detectors on
hand-written short answers in five languages, per text (accuracy, and how many a
confidence floor leaves undetermined) and for a document judged by its majority, with
load time, time per text and install size side by side.

lingua is measured only when importable (it is not a qualcode dependency: 96 MB
installed against py3langid's 4.5 MB); e.g. ``pip install --target /tmp/ling
lingua-language-detector`` and run with ``PYTHONPATH=/tmp/ling:src``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from _common import REPO, table

SHORT = {
    "en": ["ok", "yes", "no", "I don't know", "Not really", "It was fine", "The nurse was kind to us",
           "Too far from home", "We had no money for transport", "The visits helped my baby gain weight",
           "Sometimes", "Not sure", "Good service", "They never came back", "I liked the cooking demonstrations",
           "Long queues at the clinic", "My husband did not agree", "The food was too expensive",
           "Nothing to add", "Thank you", "More home visits please", "It depends on the day",
           "The health worker explained everything clearly", "We learned about breastfeeding", "fine"],
    "es": ["sí", "no", "No sé", "Más o menos", "Estuvo bien", "La enfermera fue muy amable",
           "Queda muy lejos de la casa", "No teníamos plata para el bus", "Las visitas ayudaron a mi bebé",
           "A veces", "No estoy segura", "Buen servicio", "Nunca volvieron", "Me gustaron las clases de cocina",
           "Las filas en el centro de salud son largas", "Mi esposo no estaba de acuerdo",
           "La comida es muy cara", "Nada más", "Gracias", "Más visitas por favor", "Depende del día",
           "La promotora explicó todo con claridad", "Aprendimos sobre la lactancia", "de acuerdo",
           "Sí, claro"],
    "fr": ["oui", "non", "Je ne sais pas", "Pas vraiment", "C'était bien", "L'infirmière était gentille",
           "C'est trop loin de chez nous", "Nous n'avions pas d'argent pour le transport",
           "Les visites ont aidé mon bébé", "Parfois", "Pas sûre", "Bon service", "Ils ne sont jamais revenus",
           "J'ai aimé les démonstrations de cuisine", "Les files d'attente sont longues au centre",
           "Mon mari n'était pas d'accord", "La nourriture est trop chère", "Rien à ajouter", "Merci",
           "Plus de visites s'il vous plaît", "Ça dépend du jour", "L'agente a tout expliqué clairement",
           "Nous avons appris l'allaitement", "d'accord", "Oui, bien sûr"],
    "pt": ["sim", "não", "Não sei", "Mais ou menos", "Foi bom", "A enfermeira foi muito gentil",
           "Fica muito longe de casa", "Não tínhamos dinheiro para o ônibus", "As visitas ajudaram o meu bebê",
           "Às vezes", "Não tenho certeza", "Bom atendimento", "Nunca voltaram", "Gostei das aulas de culinária",
           "As filas no posto são longas", "Meu marido não concordou", "A comida é muito cara", "Nada a acrescentar",
           "Obrigada", "Mais visitas por favor", "Depende do dia", "A agente explicou tudo com clareza",
           "Aprendemos sobre amamentação", "concordo", "Sim, claro"],
    "de": ["ja", "nein", "Ich weiß nicht", "Nicht wirklich", "Es war gut", "Die Krankenschwester war freundlich",
           "Zu weit von zu Hause", "Wir hatten kein Geld für den Bus", "Die Besuche haben meinem Baby geholfen",
           "Manchmal", "Nicht sicher", "Guter Service", "Sie kamen nie wieder", "Mir gefielen die Kochkurse",
           "Lange Schlangen in der Klinik", "Mein Mann war nicht einverstanden", "Das Essen ist zu teuer",
           "Nichts hinzuzufügen", "Danke", "Bitte mehr Hausbesuche", "Es kommt auf den Tag an",
           "Die Helferin hat alles klar erklärt", "Wir haben über das Stillen gelernt", "einverstanden",
           "Ja, klar"],
}


def english_turns() -> list[str]:
    from qualcode import ingest

    out = []
    for f in ("focus_group_mothers.md", "focus_group_chws.txt"):
        d = ingest.read_file(REPO / "src/qualcode/data/examples" / f)[0]
        out += [d.text[s.start:s.end] for s in ingest.segment(d, "turn")]
    return out


def score(name, detect, floor):
    rows = []
    for lang, texts in SHORT.items():
        t0 = time.perf_counter()
        got = [detect(t) for t in texts]
        dt = (time.perf_counter() - t0) / len(texts)
        correct = sum(g == lang and c >= floor for g, c in got)
        wrong = sum(g != lang and c >= floor for g, c in got)
        und = sum(c < floor for _, c in got)
        confident = Counter(g for g, c in got if c >= floor)
        majority = confident.most_common(1)[0][0] if confident else "und"
        rows.append({"detector": name, "lang": lang, "n": len(texts), "correct": correct, "wrong": wrong,
                     "undetermined": und, "doc majority": majority, "ms/text": round(1000 * dt, 2)})
    turns = english_turns()
    got = [detect(t) for t in turns]
    rows.append({"detector": name, "lang": "en turns", "n": len(turns),
                 "correct": sum(g == "en" and c >= floor for g, c in got),
                 "wrong": sum(g != "en" and c >= floor for g, c in got),
                 "undetermined": sum(c < floor for _, c in got),
                 "doc majority": Counter(g for g, c in got if c >= floor).most_common(1)[0][0], "ms/text": ""})
    return rows


def main() -> None:
    from qualcode import language

    rows = []
    t0 = time.perf_counter()
    language.detect("warm up")
    load_py3 = time.perf_counter() - t0
    rows += score("py3langid (qualcode)", lambda t: language.detect(t), language.CONFIDENCE_FLOOR)
    sizes = {"py3langid": _size("py3langid")}
    loads = {"py3langid": load_py3}
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:
        print("lingua not importable: measured py3langid only")
    else:
        t0 = time.perf_counter()
        det = LanguageDetectorBuilder.from_all_languages().build()
        loads["lingua (all languages)"] = time.perf_counter() - t0
        sizes["lingua (all languages)"] = _size("lingua")

        def lingua_detect(t):
            vals = det.compute_language_confidence_values(t)
            if not vals:
                return "und", 0.0
            v = vals[0]
            return v.language.iso_code_639_1.name.lower(), float(v.value)

        rows += score("lingua", lingua_detect, language.CONFIDENCE_FLOOR)
    table(rows, ["detector", "lang", "n", "correct", "wrong", "undetermined", "doc majority", "ms/text"])
    print()
    table([{"detector": k, "install MB": sizes.get(k), "load s": round(v, 2)} for k, v in loads.items()],
          ["detector", "install MB", "load s"])


def _size(module: str) -> float | None:
    try:
        mod = __import__(module)
    except ImportError:
        return None
    root = Path(mod.__file__).resolve().parent
    return round(sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6, 1)


if __name__ == "__main__":
    main()
