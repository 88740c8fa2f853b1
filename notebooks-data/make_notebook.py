"""Build sweep_analysis.ipynb from sweep_analysis.py, so the script and the notebook stay the same.

The script is split into cells at its `# %%` lines (the "percent" format that VS Code, Spyder and
jupytext read too): `# %% [markdown]` starts a markdown cell whose lines lose their leading `# `,
a bare `# %%` starts a code cell. The notebook is written with its outputs cleared.

    python notebooks-data/make_notebook.py          # rewrite the notebook
    python notebooks-data/make_notebook.py --check  # exit 1 when the notebook is out of date

Needs nbformat (pip install nbformat).
"""
import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "sweep_analysis.py"
NOTEBOOK = HERE / "sweep_analysis.ipynb"


def cells(source: str) -> list:
    """The script's cells: (kind, text) with kind 'markdown' or 'code', in order."""
    result, kind, lines = [], None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind is not None and text:
            result.append((kind, text))

    for line in source.splitlines():
        if line.startswith("# %%"):
            flush()
            kind = "markdown" if "[markdown]" in line else "code"
            lines = []
        elif kind == "markdown":
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"a markdown cell line must be a comment: {line!r}")
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind == "code":
            lines.append(line)
        elif line.strip():
            raise ValueError(f"text before the first '# %%' line: {line!r}")
    flush()
    return result


def notebook(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, text) in enumerate(cells(source)):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(text)
        cell["id"] = f"cell-{index:02d}"  # stable ids: regenerating changes nothing
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when the notebook differs from the script")
    args = parser.parse_args()
    text = nbformat.writes(notebook(SCRIPT.read_text()), version=4) + "\n"
    if args.check:
        current = NOTEBOOK.read_text() if NOTEBOOK.exists() else ""
        if current != text:
            print(f"{NOTEBOOK.name} is out of date: run python {Path(__file__).name}")
            return 1
        print(f"{NOTEBOOK.name} matches {SCRIPT.name}")
        return 0
    NOTEBOOK.write_text(text)
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
