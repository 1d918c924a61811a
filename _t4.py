import sys; sys.path.insert(0, "tests")
from derive import latex
from derive.catalog import get
from derive.derivation import derive
import sympy as sp
d = derive(get("ordinal-logit"))
st = latex.Notation().settings(d)
from test_latex import parse_back
for value, cond in d.loss.args:
    t = latex.tex(value, **st); print(t)
    try: print("  ->", parse_back(t, d, st))
    except Exception as e: print("  ERR", type(e).__name__, str(e)[:200])
