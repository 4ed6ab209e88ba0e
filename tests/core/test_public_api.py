import subprocess
import sys

import qualcode


def test_every_public_name_resolves():
    for name in qualcode.__all__:
        if name == "discover_themes":
            import importlib.util

            if importlib.util.find_spec("qualcode.themes.embedding") is None:
                continue
        assert getattr(qualcode, name) is not None, name


def test_import_has_no_heavy_side_effects():
    code = ("import sys, qualcode; heavy = [m for m in ('torch', 'sentence_transformers', 'numpy', 'sqlite3') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
