"""The start-up template check remembers a pass between processes (messages.render verdicts): an unchanged set of
templates, ladder steps, code and packages skips the rendering; any edit, a broken template above all, is checked in
full and reported with its file and line; a failure is never remembered."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import messages.render as render_module
from bot.business import renderer_for, settings_ladder
from dunning.ladder import Channel, Step, Tone
from messages.render import Renderer, TemplateError
from tests.bot_harness import bot_settings

TODAY = date(2026, 11, 24)


@pytest.fixture
def samples_built(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The steps whose sample contexts the check built (empty: nothing was rendered)."""
    built: list[str] = []
    real = render_module.sample_contexts

    def counting(step: str, lang: str) -> object:
        built.append(step)
        return real(step, lang)

    monkeypatch.setattr(render_module, "sample_contexts", counting)
    yield built


def _override(folder: Path, text: str = "Bonjour {{ ctx.client_name }},\n\nMerci.\n") -> Path:
    """A TEMPLATES_DIR overriding the French first reminder's text."""
    (folder / "fr").mkdir(parents=True, exist_ok=True)
    (folder / "fr" / "reminder_1.text.j2").write_text(text, encoding="utf-8")
    return folder


def test_unchanged_templates_skip_the_rendering(tmp_path: Path, samples_built: list[str]) -> None:
    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    templates = _override(tmp_path / "modeles")
    first = Renderer(templates, verdicts=verdicts)
    first.check()
    assert not first.check_remembered and samples_built
    assert len(list(verdicts.glob("relance-check-*"))) == 1
    samples_built.clear()
    again = Renderer(templates, verdicts=verdicts)  # the next start: a new process, a new renderer
    again.check()
    assert again.check_remembered and samples_built == []
    # Without a verdict folder (or in another folder) the check runs in full.
    alone = Renderer(templates)
    alone.check()
    assert not alone.check_remembered and samples_built


def test_a_template_broken_after_a_pass_is_reported_with_its_file_and_line(
    tmp_path: Path, samples_built: list[str]
) -> None:
    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    templates = _override(tmp_path / "modeles")
    Renderer(templates, verdicts=verdicts).check()
    broken = templates / "fr" / "reminder_1.text.j2"
    stat = broken.stat()
    # Same size and modification time as the file that passed: only its bytes tell it changed.
    broken.write_text("Bonjour {{ ctx.client_nam }},\n\nMerci.\n", encoding="utf-8")
    os.utime(broken, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    for _ in range(2):  # a failure is never remembered: each start reports it again
        renderer = Renderer(templates, verdicts=verdicts)
        with pytest.raises(TemplateError) as exc:
            renderer.check()
        assert not renderer.check_remembered
        assert exc.value.filename is not None and exc.value.filename.endswith("fr/reminder_1.text.j2")
        assert exc.value.lineno == 1 and "client_nam" in str(exc.value)
    assert len(list(verdicts.glob("relance-check-*"))) == 1  # only the first pass
    broken.write_text("Bonjour {{ ctx.client_name }},\n\nMerci.\n", encoding="utf-8")  # put back as it passed
    samples_built.clear()
    restored = Renderer(templates, verdicts=verdicts)
    restored.check()
    assert restored.check_remembered and samples_built == []


def test_a_syntax_error_and_a_stray_file_are_still_caught(tmp_path: Path) -> None:
    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    templates = _override(tmp_path / "modeles")
    Renderer(templates, verdicts=verdicts).check()
    (templates / "fr" / "reminder_1.text.j2").write_text("Bonjour\n{% if ctx.client_name %}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as exc:
        Renderer(templates, verdicts=verdicts).check()
    assert exc.value.filename is not None and exc.value.filename.endswith("fr/reminder_1.text.j2")
    assert exc.value.lineno is not None
    _override(templates)
    (templates / "fr" / "notes.txt").write_text("brouillon", encoding="utf-8")
    with pytest.raises(TemplateError, match="unexpected file name"):
        Renderer(templates, verdicts=verdicts).check()


def test_other_steps_or_other_code_are_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, samples_built: list[str]
) -> None:
    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    Renderer(verdicts=verdicts).check()
    samples_built.clear()
    # Another ladder (a step worded by its tone) is another check.
    with_step = Renderer(verdicts=verdicts)
    with_step.check([Step("reminder_3", 22, Tone.FIRM, Channel.EMAIL)])
    assert not with_step.check_remembered and samples_built
    # A bare step without templates fails, and is not remembered either.
    with pytest.raises(TemplateError, match="reminder_3"):
        Renderer(verdicts=verdicts).check(["reminder_3"])
    # Other installed packages (an upgraded Jinja or fpdf2) or other code: another key.
    monkeypatch.setattr(render_module, "_installed_packages", lambda: ["purelib/Jinja2-9.9.9.dist-info"])
    upgraded = Renderer(verdicts=verdicts)
    upgraded.check()
    assert not upgraded.check_remembered
    monkeypatch.undo()
    package = tmp_path / "messages_copy"
    package.mkdir()
    (package / "render.py").write_text("# another version of the code\n", encoding="utf-8")
    monkeypatch.setattr(render_module, "_CHECK_PACKAGES", (package,))
    changed = Renderer(verdicts=verdicts)
    changed.check()
    assert not changed.check_remembered


def test_unreadable_or_foreign_verdicts_are_not_trusted(tmp_path: Path) -> None:
    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    renderer = Renderer(verdicts=verdicts)
    renderer.check()
    (entry,) = verdicts.glob("relance-check-*")
    entry.write_bytes(b"anything else\n")
    again = Renderer(verdicts=verdicts)
    again.check()
    assert not again.check_remembered
    assert entry.read_bytes().endswith(b" passed\n")  # rewritten by the full check that passed
    # A folder that cannot be written: the check runs and passes, nothing is kept.
    missing = Renderer(verdicts=tmp_path / "nowhere")
    missing.check()
    assert not missing.check_remembered and not (tmp_path / "nowhere").exists()


def test_linked_folders_are_never_remembered(tmp_path: Path) -> None:
    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    real = _override(tmp_path / "real")
    templates = tmp_path / "modeles"
    templates.mkdir()
    (templates / "fr").symlink_to(real / "fr", target_is_directory=True)
    for _ in range(2):
        renderer = Renderer(templates, verdicts=verdicts)
        renderer.check()
        assert not renderer.check_remembered
    assert list(verdicts.iterdir()) == []


def test_start_up_check_through_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, samples_built: list[str]
) -> None:
    """What `relance run` does at each start (bot.runtime.open_services): renderer_for(settings).check(ladder)."""
    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    monkeypatch.setattr("bot.business.verdict_dir", lambda: verdicts)
    templates = _override(tmp_path / "modeles")
    settings = bot_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, TODAY, TEMPLATES_DIR=templates)

    def start() -> Renderer:
        renderer = renderer_for(settings)
        renderer.check(settings_ladder(settings).steps)
        return renderer

    assert not start().check_remembered
    samples_built.clear()
    assert start().check_remembered and samples_built == []
    (templates / "fr" / "reminder_1.text.j2").write_text("{{ ctx.nope }}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as exc:
        start()
    assert str(exc.value).startswith(str(templates / "fr" / "reminder_1.text.j2") + ":1: ")
