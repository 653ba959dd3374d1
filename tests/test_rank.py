"""Ranking chunks against a question, and the question-independent dependency order,
over sources packed by the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from scout_context.pack.file_kinds import is_side_file
from scout_context.pack.imports import first_texts, imports
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.pack.rank import (
    dependency_order,
    rank,
    terms,
)
from scout_context.pack.result import PackResult
from scout_context.pack.words import normalize
from scout_context.store import Store

ROOT = Path(__file__).resolve().parents[1]
TINY_SHOP = ROOT / "examples" / "tiny-shop"


@pytest.fixture
def packed(isolated_cache):
    store = Store()

    def run(path: Path) -> PackResult:
        return pack([path], PackOptions(), store=store)

    yield run
    store.close()


def ids(ranked) -> list[str]:
    return [r.chunk.id for r in ranked]


def best(result: PackResult, question: str) -> str:
    """The id of the chunk ranked first for `question`."""
    return rank(result.chunks, question, result.outlines)[0].chunk.id


def test_terms_split_identifiers_and_keep_the_whole():
    assert terms("parseHTTPResponse") == ["pars", "http", "respons", "pars http respons"]  # Snowball stems
    assert terms("max_file_size") == ["max", "file", "size", "max file size"]
    assert terms("How are the carts totalled?") == ["cart", "total"]
    assert normalize("XMLHttpRequest utf8Decode shop/cart.py") == "xml http request utf8 decode shop cart py"


def test_identifiers_in_the_sources_are_split_too(make_repo, packed):
    repo = make_repo(
        {
            "net/wire.py": "def parseHTTPResponse(raw):\n    return raw.split(b'\\r\\n')\n",
            "net/other.py": "def send(sock, data):\n    sock.sendall(data)\n",
            "store/limits.py": "MAX_FILE_SIZE = 10\n\ndef check(size):\n    return size <= MAX_FILE_SIZE\n",
        }
    )
    result = packed(repo)
    assert best(result, "Where is an HTTP response parsed?") == "net/wire.py:1-2"
    assert best(result, "what is the max file size") == "store/limits.py:1-4"


def test_a_question_naming_a_function_ranks_its_chunk_first(make_repo, packed):
    step = '"""Billing step {0}: shipping and fees."""\n\n\ndef step_{0}(order):\n    return order\n'
    files = {f"billing/module_{i}.py": step.format(i) for i in range(30)}
    files["billing/fees.py"] = (
        '"""Fees."""\n\n\ndef compute_shipping_fee(order):\n    """The fee."""\n    return 4.95\n'
    )
    files["README.md"] = "# Billing\n\nShipping fees come from compute_shipping_fee, see the billing docs.\n"
    result = packed(make_repo(files))
    ranked = rank(result.chunks, "How does compute_shipping_fee decide the fee?", result.outlines)
    assert ids(ranked)[0] == "billing/fees.py:1-6"
    assert ranked[0].lexical > ranked[1].lexical


def test_path_components_count(make_repo, packed):
    body = "def add(items, item):\n    items.append(item)\n"
    result = packed(make_repo({"shop/cart.py": body, "shop/orders.py": body, "shop/users.py": body}))
    assert best(result, "How do I add an item to the cart?") == "shop/cart.py:1-2"
    assert best(packed(TINY_SHOP), "what is in the config") == "shop/config.py:1-6"


def test_priors_put_readme_docs_entry_points_and_imported_files_above_leaves(make_repo, packed):
    repo = make_repo(
        {
            "README.md": "# tool\n",
            "docs/guide.md": "# Guide\n",
            "tool/__init__.py": "",
            "tool/__main__.py": "from tool.core import run\n\nrun()\n",
            "tool/core.py": "def run():\n    pass\n",
            "tool/a.py": "from tool.core import run\n",
            "tool/b.py": "from .core import run\n",
            "tool/leaf.py": "def unused():\n    pass\n",
        }
    )
    result = packed(repo)
    order = ids(rank(result.chunks, "", result.outlines))
    assert order[0] == "README.md:1-1"
    position = {chunk_id.split(":")[0]: i for i, chunk_id in enumerate(order)}
    for better in ("docs/guide.md", "tool/__main__.py", "tool/core.py"):
        assert position[better] < position["tool/leaf.py"]
    assert position["tool/core.py"] < position["tool/a.py"]


def test_ranking_is_deterministic_with_ties_broken_by_id(packed):
    result = packed(TINY_SHOP)
    first = rank(result.chunks, "nothing matches zzz", result.outlines)
    again = rank(list(reversed(result.chunks)), "nothing matches zzz", result.outlines)
    assert ids(first) == ids(again)
    assert len(first) == len(result.chunks)
    tied = [r for r in first if r.score == first[-1].score]
    assert ids(tied) == sorted(ids(tied))


def test_imports_resolve_python_js_go_and_rust():
    texts = {
        "src/pkg/__init__.py": "from . import util\n",
        "src/pkg/util.py": "import os\n",
        "src/pkg/app.py": (
            '"""App."""\nfrom pkg.util import helper\nfrom .models import Model\nimport json\n\n'
            "def main():\n    from pkg import late\n"
        ),
        "src/pkg/models.py": "",
        "src/pkg/late.py": "",
        "tests/test_app.py": "import pkg.app\n",
        "web/main.ts": "import { a } from './lib/a';\nconst b = require('../web/b.js');\nimport 'react';\n",
        "web/lib/a.ts": "export const a = 1;\n",
        "web/b.js": "module.exports = 2;\n",
        "go/cmd/main.go": 'package main\n\nimport (\n\t"fmt"\n\t"example.com/proj/go/store"\n)\n',
        "go/store/store.go": "package store\n",
        "rs/src/lib.rs": "mod parse;\nuse crate::parse::Token;\n",
        "rs/src/parse.rs": "pub struct Token;\n",
    }
    assert imports(texts) == {
        "src/pkg/__init__.py": {"src/pkg/util.py"},
        "src/pkg/app.py": {"src/pkg/util.py", "src/pkg/models.py"},
        "tests/test_app.py": {"src/pkg/app.py"},
        "web/main.ts": {"web/lib/a.ts", "web/b.js"},
        "go/cmd/main.go": {"go/store/store.go"},
        "rs/src/lib.rs": {"rs/src/parse.rs"},
    }


def test_dependency_order_puts_docs_first_then_imported_before_importers():
    texts = {
        "app/main.py": "from app import service\n",
        "app/service.py": "from app.models import User\n",
        "app/models.py": "from app import db\n",
        "app/db.py": "",
        "app/__init__.py": "",
        "app/x.py": "from app import y\n",
        "app/y.py": "from app import x\n",
        "docs/intro.md": "# Intro\n",
        "README.md": "# App\n",
        "CHANGES.rst": "Changes\n",
    }
    order = dependency_order(list(texts), texts)
    assert order[:4] == ["README.md", "CHANGES.rst", "docs/intro.md", "app/__init__.py"]
    chain = [order.index(f"app/{name}.py") for name in ("db", "models", "service", "main")]
    assert chain == sorted(chain)
    assert order.index("app/x.py") < order.index("app/y.py")  # a cycle, broken by path
    assert dependency_order(list(reversed(texts)), texts) == order
    assert sorted(order) == sorted(texts)


def test_flask(packed, flask_corpus):
    result = packed(flask_corpus)
    top = ids(rank(result.chunks, "What does send_static_file do?", result.outlines))[:2]
    assert any(chunk_id.startswith(("src/flask/app.py:", "src/flask/blueprints.py:")) for chunk_id in top)
    assert ids(rank(result.chunks, "", result.outlines))[0] == "README.md:1-53"
    order = dependency_order(result.files, first_texts(result.chunks))
    for imported, importer in [("globals", "app"), ("helpers", "app"), ("app", "__init__")]:
        assert order.index(f"src/flask/{imported}.py") < order.index(f"src/flask/{importer}.py")


def test_words_meet_their_stems(make_repo, packed):
    result = packed(
        make_repo(
            {
                "app/logic.py": "def show(expr):\n    return str(expr)\n",  # first by id: wins when nothing matches
                "logic/inference.py": "def satisfiable(expr):\n    return find_model(expr)\n",
                "state/frames.py": "def pop(frames):\n    frames.pop()\n",
            }
        )
    )
    assert best(result, "Is the formula satisfying?") == "logic/inference.py:1-2"
    assert best(result, "What happens when a frame is popped?") == "state/frames.py:1-2"


def test_docstrings_of_definitions_deep_in_a_big_file_are_searched(make_repo, packed, monkeypatch):
    from scout_context.pack import rank as rank_module

    filler = "".join(f'def helper_{i}(x):\n    """Return x plus {i}."""\n    return x + {i}\n\n\n' for i in range(40))
    result = packed(
        make_repo(
            {
                "calc/big.py": filler + 'def rref(m):\n    """Reduced row echelon form of a matrix."""\n    return m\n',
                "calc/other.py": "def matrix(rows):\n    return rows\n",
            }
        )
    )
    monkeypatch.setattr(rank_module, "SURFACE_CHARS", 0)  # every chunk's text head is MIN_HEAD characters
    ranked = rank(result.chunks, "Where is the reduced row echelon form computed?", result.outlines)
    assert ranked[0].chunk.path == "calc/big.py" and ranked[0].lexical > 0


def test_tests_and_changelogs_weigh_less_than_the_code_they_mention(make_repo, packed):
    result = packed(
        make_repo(
            {
                "shop/discount.py": "def discount(order):\n    return order.total * 0.1\n",
                "tests/test_discount.py": "from shop.discount import discount\n\ndef test_discount():\n    assert discount(order) == discount(order)\n",
                "CHANGES.rst": "Version 2\n=========\n\n- The discount is now ten percent: discount, discount.\n",
            }
        )
    )
    assert best(result, "How is the discount computed?") == "shop/discount.py:1-2"


@pytest.mark.parametrize(
    ("path", "side"),
    [
        ("tests/test_app.py", True),
        ("src/flask/testing.py", False),
        ("pkg/core/tests/util.py", True),
        ("test_app.py", True),
        ("server_test.go", True),
        ("web/app.spec.ts", True),
        ("conftest.py", True),
        ("CHANGES.rst", True),
        ("CHANGELOG.md", True),
        ("docs/changes.rst", True),
        ("sympy/core/benchmarks/bench_x.py", True),
        ("src/news.py", False),
        ("NEWS", True),
        ("src/history/model.py", False),
        ("README.md", False),
    ],
)
def test_side_files(path, side):
    assert is_side_file(path) is side


def test_the_index_is_kept_in_the_store_for_the_next_process(make_repo, isolated_cache, monkeypatch):
    from scout_context.pack import rank as rank_module
    from scout_context.store import RANK_INDEXES_KEPT

    repo = make_repo({"shop/cart.py": "def total(cart):\n    return sum(cart)\n", "README.md": "# Shop\n"})
    question = "How is the cart total computed?"
    store = Store()
    first = pack([repo], PackOptions(), store=store)
    built = rank(first.chunks, question, first.outlines, store=store, digest=first.digest)
    assert store.conn.execute("SELECT count(*) FROM rank_indexes").fetchone()[0] == 1

    def no_build(*args):
        raise AssertionError("the index was built again")

    monkeypatch.setattr(rank_module, "_last_index", [])  # a new process: nothing in memory
    monkeypatch.setattr(rank_module, "_build_index", no_build)
    again = pack([repo], PackOptions(), store=store)
    assert again.digest == first.digest
    read = rank(again.chunks, question, again.outlines, store=store, digest=again.digest)
    assert [(r.chunk.id, r.score) for r in read] == [(r.chunk.id, r.score) for r in built]

    (repo / "shop" / "cart.py").write_text("def total(cart):\n    return sum(cart) * 2\n")
    changed = pack([repo], PackOptions(), store=store)
    assert changed.digest != first.digest
    with pytest.raises(AssertionError, match="built again"):  # other content: another index
        rank(changed.chunks, question, changed.outlines, store=store, digest=changed.digest)
    monkeypatch.undo()
    store.conn.execute("UPDATE rank_indexes SET data = ?", [b"not an index"])  # a damaged row is rebuilt
    assert [
        (r.chunk.id, r.score) for r in rank(again.chunks, question, again.outlines, store=store, digest=again.digest)
    ] == [(r.chunk.id, r.score) for r in built]
    assert store.conn.execute("SELECT count(*) FROM rank_indexes WHERE data = ?", [b"not an index"]).fetchone()[0] == 0
    for i in range(RANK_INDEXES_KEPT + 2):
        (repo / "shop" / "cart.py").write_text(f"def total(cart):\n    return sum(cart) * {i + 3}\n")
        result = pack([repo], PackOptions(), store=store)
        rank(result.chunks, question, result.outlines, store=store, digest=result.digest)
    assert store.conn.execute("SELECT count(*) FROM rank_indexes").fetchone()[0] == RANK_INDEXES_KEPT
    store.close()


def test_the_store_keeps_the_ranking_indexes_used_last(isolated_cache):
    from scout_context.store import RANK_INDEXES_KEPT

    store = Store()
    store.save_rank_index("often", b"o")
    for i in range(RANK_INDEXES_KEPT - 1):
        store.save_rank_index(f"old-{i}", b"x")
    assert store.rank_index("often") == b"o"  # read: now the most recently used
    store.save_rank_index("new", b"n")
    kept = {row[0] for row in store.conn.execute("SELECT key FROM rank_indexes")}
    assert len(kept) == RANK_INDEXES_KEPT and "often" in kept and "new" in kept and "old-0" not in kept
    assert store.rank_index("missing") is None
    store.close()
