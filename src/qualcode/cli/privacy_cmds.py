"""`qualcode deidentify`, `classify`, `audit`."""

from __future__ import annotations

import argparse
import sys

from qualcode.cli.common import add_project_arg, print_json, print_table, project_from
from qualcode.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deidentify",
        help="replace names, places, organisations, e-mails, phones, IDs and dates with consistent pseudonyms "
             "(new document versions; originals kept)",
        description="De-identify the current documents: the names list (matched ignoring case and accents, "
                    "with possessives and one-letter typos), patterns, and spaCy NER when installed. The result "
                    "becomes the current version of each document; the original stays as the previous version, "
                    "and codings on the new text map back to it exactly.",
    )
    add_project_arg(p)
    p.add_argument("--names", required=True, metavar="FILE",
                   help="known names: CSV with columns name,type[,variants] (type: person, participant, staff, "
                        "place, org...), or text lines 'type: Name | variant'")
    p.add_argument("--passphrase-env", metavar="VAR",
                   help="encrypt the pseudonym mapping with the passphrase held in this environment variable "
                        "(the passphrase itself is never stored)")
    p.add_argument("--report", metavar="FILE",
                   help="write the redaction report (every replacement in context): .md, or .csv for a table. "
                        "It shows the original values: keep it confidential")
    p.add_argument("--document", action="append", metavar="NAME", help="only this document (repeatable)")
    p.add_argument("--patterns", default=",".join(("email", "url", "phone", "id", "date")),
                   help="comma-separated patterns to look for (default: email,url,phone,id,date; '' for none)")
    p.add_argument("--no-fuzzy", action="store_true", help="match listed names exactly (no one-edit variants)")
    p.add_argument("--no-name-parts", action="store_true",
                   help="do not match the single words of a listed person's full name")
    p.add_argument("--ner", default="auto", metavar="MODEL",
                   help="spaCy model for named-entity recognition: auto (an installed model, if any; default), "
                        "a model name, or none. Nothing is downloaded")
    p.add_argument("--mapping-out", metavar="FILE",
                   help="also save the pseudonym mapping to FILE (encrypted when --passphrase-env is given)")
    p.add_argument("--dry-run", action="store_true", help="report what would be replaced; write nothing to the store")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_deidentify)

    p = sub.add_parser(
        "classify",
        help="show or set the data classification (confidential | deidentified | public), with a recorded approval",
        description="Without an argument, show the classification in force and its history. Moving to "
                    "deidentified or public (which allows external model services) needs --approve with who "
                    "approved it and why; the approval is recorded in the store and the audit trail, and "
                    "qualcode.toml is updated.",
    )
    add_project_arg(p)
    p.add_argument("classification", nargs="?", choices=("confidential", "deidentified", "public"))
    p.add_argument("--approve", metavar="TEXT", help="who approved the change and why (required unless confidential)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("audit", help="the privacy audit trail: approvals, and which segments (by hash) went where")
    add_project_arg(p)
    p.add_argument("--json", action="store_true", help="everything, with segment hashes, as JSON")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the last N outbound batches")
    p.set_defaults(func=cmd_audit)


def _passphrase(args: argparse.Namespace) -> str | None:
    if not args.passphrase_env:
        return None
    from qualcode.secrets import read_secret_env

    value = read_secret_env(args.passphrase_env, what="--passphrase-env")
    if not value:
        raise InputError(f"--passphrase-env {args.passphrase_env}: that environment variable is not set or empty",
                         hint=f"export {args.passphrase_env}='a long passphrase' (read it with `read -s` to keep it "
                              "out of your shell history)")
    return value


def cmd_deidentify(args: argparse.Namespace) -> int:
    from qualcode import deidentify_project

    patterns = [p.strip() for p in (args.patterns or "").split(",") if p.strip()]
    passphrase = _passphrase(args)
    with project_from(args) as project:
        rep = deidentify_project(
            project, args.names, passphrase=passphrase, documents=args.document, patterns=patterns,
            fuzzy=0 if args.no_fuzzy else 1, name_parts=not args.no_name_parts,
            ner=None if str(args.ner).lower() in ("none", "off", "no") else args.ner,
            dry_run=args.dry_run, mapping_out=args.mapping_out,
        )
    if args.report:
        path = rep.write(args.report)
        print(f"redaction report: {path} (it shows the original values: keep it confidential)", file=sys.stderr)
    if args.json:
        print_json(rep.as_dict())
        return 0
    verb = "would replace" if rep.dry_run else "replaced"
    print(f"{verb} {rep.total} span(s) in {len(rep.documents)} document(s): "
          + (", ".join(f"{t} {n}" for t, n in rep.counts.items()) or "nothing found"))
    print_table([{"document": d["name"], "status": d["status"], "replacements": d["replacements"],
                  "types": ", ".join(f"{t}={n}" for t, n in d["counts"].items())} for d in rep.documents],
                ["document", "status", "replacements", "types"])
    print(f"named-entity recognition: {rep.settings.get('ner')}")
    if not rep.dry_run:
        how = "encrypted with your passphrase" if rep.encrypted else "NOT encrypted (use --passphrase-env VAR)"
        print(f"pseudonym mapping stored in the project ({how}); run {rep.run_id}")
        print("originals are kept as the previous document versions; the store stays confidential")
        print("next: review the report, then `qualcode classify deidentified --approve \"who/why\"`")
    if rep.unmatched:
        print(f"note: {len(rep.unmatched)} listed name(s) were never found (see the report)")
    for w in rep.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from qualcode import audit_trail, set_classification

    with project_from(args) as project:
        if args.classification is None:
            trail = audit_trail(project.store, with_hashes=False, limit=1)
            data = {"classification": project.settings.classification,
                    "recorded": trail["approvals"][-1] if trail["approvals"] else None,
                    "history": trail["approvals"]}
            if args.json:
                print_json(data)
                return 0
            print(f"classification in force: {data['classification']}")
            rec = data["recorded"]
            if rec is None:
                print("no classification recorded in the store (external services are refused unless confidential "
                      "data is reclassified with an approval)")
            else:
                print(f"last recorded: #{rec['id']} {rec['classification']} at {rec['created_at']} by "
                      f"{rec['recorded_by'] or '?'}: {rec['approval'] or '-'}")
                if rec["classification"] != data["classification"]:
                    print("warning: qualcode.toml or the environment disagrees with the recorded classification; "
                          "external calls are refused until they agree", file=sys.stderr)
            return 0
        out = set_classification(project, args.classification, approve=args.approve)
    if args.json:
        print_json(out)
        return 0
    print(f"classification: {out['previous']} -> {out['classification']} (approval #{out['approval_id']} recorded; "
          "qualcode.toml updated)")
    for w in out["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from qualcode import audit_trail, format_audit

    with project_from(args) as project:
        trail = audit_trail(project.store, with_hashes=args.json, limit=args.limit)
        trail["summary"]["classification_in_settings"] = project.settings.classification
    if args.json:
        print_json(trail)
        return 0
    print(f"classification in settings: {trail['summary']['classification_in_settings']}")
    print(format_audit(trail))
    return 0
