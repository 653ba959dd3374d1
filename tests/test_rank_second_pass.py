"""What ranking weighs besides a chunk's own words: the kind of file (docs and generated
copies below the code), the definitions the best chunks name where they talk about the
question, the import neighbours of the best files, the classes the best chunks' classes
extend, each clause of a question that asks two things, and British spellings. Real sources,
packed by the real pipeline."""

from __future__ import annotations

import pytest

from scout_context.pack import dense
from scout_context.pack.bases import bases
from scout_context.pack.clauses import clauses
from scout_context.pack.file_kinds import is_generated, lexical_weight
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.pack.rank import rank, terms
from scout_context.pack.spelling import american
from scout_context.pack.words import line_hits, line_terms
from scout_context.store import Store


@pytest.fixture
def ranked_paths(make_repo, isolated_cache, monkeypatch):
    """The distinct files of the lexical ranking of `question` over a repository of `files`:
    the stages tested here come before the dense pass (tests/test_dense.py), which is off."""
    monkeypatch.setattr(dense, "DEPTH", 0)
    store = Store()

    def run(files: dict[str, str], question: str) -> list[str]:
        result = pack([make_repo(files)], PackOptions(), store=store)
        return list(dict.fromkeys(r.chunk.path for r in rank(result.chunks, question, result.outlines)))

    yield run
    store.close()


def test_a_guide_weighs_less_than_the_code_it_explains(ranked_paths):
    guide = "# Retries\n\nWhen a request fails, the client waits and retries the failed request. " * 3
    files = {
        "docs/retries.md": guide + "\n",
        "net/retry.py": 'def backoff(attempt):\n    """Seconds the client waits before it retries a failed request."""\n'
        "    return 2 ** attempt\n",
    }
    assert ranked_paths(files, "How long does the client wait before it retries a failed request?")[0] == "net/retry.py"


def test_code_that_matches_ranks_above_a_guide_that_matches_better(ranked_paths):
    """Docs are read for the code they name, then weigh less again as answers: the guide
    uses more of the question's words, the code that answers it still comes first."""
    files = {
        "docs/retries.md": "# Retries\n\nWhen a request fails, the client waits and retries the failed request.\n",
        "net/retry.py": 'def backoff(attempt):\n    """Seconds the client waits before a retry."""\n'
        "    return 2 ** attempt\n",
        "net/pool.py": 'def connections(limit):\n    """Open sockets, at most limit."""\n    return []\n',
    }
    order = ranked_paths(files, "How long does the client wait before it retries a failed request?")
    assert order[:2] == ["net/retry.py", "docs/retries.md"]


def test_a_docs_only_corpus_keeps_its_scores(make_repo, isolated_cache):
    store = Store()
    try:
        files = {"a.md": "# Retries\n\nThe client retries.\n", "b.md": "# Other\n\nNothing here.\n"}
        result = pack([make_repo(files)], PackOptions(), store=store)
    finally:
        store.close()
    best = rank(result.chunks, "How does the client retry?", result.outlines)[0]
    assert (best.chunk.path, best.lexical) == ("a.md", 1.0)


def test_a_type_stub_and_a_bundle_weigh_less_than_their_source(ranked_paths):
    doc = "/** Seconds the client waits before it retries a failed request. */\n"
    files = {
        "index.d.ts": doc + "export declare function backoff(attempt: number): number;\n",
        "dist/retry.min.js": doc + "function backoff(a){return 2**a}\n",
        "lib/retry.js": doc + "export function backoff(attempt) {\n  const base = 2;\n  return base ** attempt;\n}\n",
    }
    assert ranked_paths(files, "How long does the client wait before it retries a failed request?")[0] == "lib/retry.js"


@pytest.mark.parametrize(
    ("path", "generated", "weight"),
    [
        ("index.d.ts", True, 0.5),
        ("dist/axios.js", True, 0.5),
        ("vendor/github.com/x/y.go", True, 0.5),
        ("api/v1/service.pb.go", True, 0.5),
        ("static/app.min.js", True, 0.5),
        ("testdata/protoexample/test.pb.go", True, 0.5),  # test data first: a side file
        ("src/build.rs", False, 1.0),
        ("lib/distance.py", False, 1.0),
        ("docs/guide.md", False, 0.6),
        ("README.md", False, 0.6),
    ],
)
def test_file_kinds(path, generated, weight):
    assert is_generated(path) is generated
    assert lexical_weight(path) == weight


def test_code_a_guide_names_where_it_answers_the_question_is_lifted(ranked_paths):
    files = {
        "docs/prompts.md": "# Prompts\n\nTo ask for a password without showing what is typed, call `hide_prompt`.\n",
        "cli/term.py": 'def hide_prompt(text):\n    """Ask for a line, with echo off."""\n    return input(text)\n',
        "cli/vault.py": 'def save(password):\n    """Keep the password."""\n    return password\n',
    }
    order = ranked_paths(files, "How do I ask for a password without showing what is typed?")
    assert order.index("cli/term.py") < order.index("cli/vault.py")


def test_the_import_neighbour_of_the_best_file_comes_before_an_equal_stranger(ranked_paths):
    step = 'def {0}(request):\n    """Run one step over the request."""\n    return request\n'
    files = {
        "app/client.py": "from app.chain import run_chain\n\n\n"
        'def send(request):\n    """Send a request through the interceptors, in order."""\n'
        "    return run_chain(request)\n",
        "app/chain.py": step.format("run_chain"),
        "app/audit.py": step.format("run_audit"),
        "app/log.py": "from app.audit import run_audit\n",
    }
    order = ranked_paths(files, "In what order do the interceptors run when a request is sent?")
    assert order[0] == "app/client.py"
    assert order.index("app/chain.py") < order.index("app/audit.py")


def test_a_british_spelling_also_searches_the_american_one(ranked_paths):
    files = {
        "ui/color.py": 'def strip(text):\n    """Drop color codes."""\n    return text\n',
        "ui/codes.py": 'def exit_codes():\n    """The exit codes."""\n    return {}\n',
    }
    assert ranked_paths(files, "Where are colour codes dropped?")[0] == "ui/color.py"
    assert american("behaviour") == "behavior" and american("initialised") == "initialized"
    assert american("your") == "your" and american("color") == "color"
    assert "color" in terms("colour") and "behavior" in terms("behaviour")


def test_line_hits_are_line_terms_found_in_one_pass():
    lines = [
        "def parseHTTPResponse(raw):  # parses the response",
        "",
        "    Responses are parsed here: naïve caf\u00e9 \u2014 HTTPResponse",
        "\ttabs\rand returns",
        "unrelated words only",
    ]
    wanted = {"pars", "respons", "http", "return"}
    expected = {i: found & wanted for i, found in enumerate(line_terms(lines)) if found & wanted}
    assert line_hits("\n".join(lines), wanted) == expected
    assert line_hits("nothing here", wanted) == {}


@pytest.mark.parametrize(
    ("signature", "names"),
    [
        ("class Flask(App):", ["App"]),
        ("class A(t.Generic[T], Base, metaclass=Meta):", ["Generic", "Base"]),
        ("class A(*mixins):", []),
        ("export class ObservableValue<T> extends Atom implements IObservableValue<T>", ["Atom"]),
        ("export default abstract class Store extends base.Store {", ["Store"]),
        ("class Plain:", []),
        ("def classify(x):", []),
    ],
)
def test_bases_of_a_class_signature(signature, names):
    assert bases(signature) == names


def test_the_class_that_the_best_class_extends_is_lifted(ranked_paths):
    """`Server` answers the question and extends `Router`, in another file that matches it
    only by name: the base comes second, above two files that match the question better."""
    files = {
        "web/server.py": "from .routing import Router\n\n\nclass Server(Router):\n"
        '    """Answers each request: finds its route, calls the view, and sends the response."""\n\n'
        "    def answer(self, request):\n        return self.view(request)\n",
        "web/routing.py": 'class Router:\n    """Keeps the routes."""\n\n    def add(self, rule, view):\n'
        '        """The methods it allows."""\n        self.rules = [rule]\n',
        "web/log.py": 'def log(request, response):\n    """Write how the server answered a request, and its route."""\n'
        "    return request\n",
        "web/cache.py": "def cached(response):\n"
        '    """Keep the server response to a request and its options, to answer it again."""\n'
        "    return response\n",
    }
    order = ranked_paths(files, "How does the server answer an OPTIONS request to a route?")
    assert order[:2] == ["web/server.py", "web/routing.py"]


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "What does the server answer to an OPTIONS request, and where is that switched on?",
            ["What does the server answer to an OPTIONS request", "where is that switched on?"],
        ),
        ("How is it split; why there?", ["How is it split", "why there?"]),
        (
            "How do I see which observables a reaction reads, or which observers read a value?",
            ["How do I see which observables a reaction reads", "which observers read a value?"],
        ),
        ("When a user mistypes an option name, how does the tool suggest the one they meant?", []),
        ("How do I see which observers depend on a value?", []),
        ("How are reads, writes and seeks buffered, if at all?", []),
    ],
)
def test_clauses(question, parts):
    assert clauses(question) == parts


def test_the_answer_to_a_short_second_clause_is_not_buried_by_the_first(ranked_paths):
    """Six files answer the long first clause in part; the one file that answers the
    short second clause comes right after the first clause's best."""
    docs = [
        "Resume and retry a folder upload with backoff after a network failure or a dropped socket.",
        "Resume a folder upload after a network failure.",
        "Retry with backoff when a socket is dropped.",
        "A dropped socket or a network failure stops an upload.",
        "Backoff between retries of a folder upload.",
        "Resume uploads after a dropped socket.",
        "Read with a timeout.",
        "Write with a timeout.",
    ]
    files = {
        f"sync/step{n}.py": f'def step{n}(upload):\n    """{doc}"""\n    return upload\n' for n, doc in enumerate(docs)
    }
    files["sync/limits.py"] = 'def limits():\n    """The timeout is kept here, in seconds."""\n    return 10\n'
    question = (
        "How is a folder upload resumed and retried with backoff after a network failure or a dropped socket, "
        "and where is the timeout kept?"
    )
    assert ranked_paths(files, question)[:2] == ["sync/step0.py", "sync/limits.py"]
