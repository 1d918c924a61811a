"""`derive prior PRIOR [--json]`: a prior on a weight, its penalty and the penalty's strength."""

from __future__ import annotations

import json


def _prior(args) -> str:
    from ..display import ascii_text
    from ..report import prior_lines, prior_record
    from .io import unicode_stdout

    unicode = unicode_stdout(args)
    if args.json:
        return json.dumps(prior_record(args.name), indent=2, ensure_ascii=not unicode)
    text = "\n".join(prior_lines(args.name, unicode=unicode))
    return text if unicode else ascii_text(text)


def add_commands(sub) -> None:
    p = sub.add_parser(
        "prior",
        help="derive the penalty of a prior on a weight (a regulariser as a log-prior)",
        description="−log p(w) of a prior on one weight, split into the penalty and the "
        "normaliser, the penalty recognised (l2, l1, elastic_net, log, …) with its strength. "
        "PRIOR is a catalog density placed on the weight (gaussian, laplace, student-t, cauchy, "
        "logistic, huber), horseshoe-like or elastic-net; flat and jeffreys are improper.",
    )
    p.add_argument("name", metavar="PRIOR", help="the prior")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_prior, replayable=True)
