"""Turn a `DraftContext` into what is sent or shown: e-mail drafts (subject, text, HTML), SMS, call scripts.

Templates are files `{lang}/{step}.{kind}.j2` (kind: subject, text, html, sms, call) under
`messages/templates/`; the owner's `TEMPLATES_DIR` holds files with the same names that shadow the built-in ones.
`Renderer.check()` renders every template with sample contexts at start-up so that a broken or mistyped
override is reported then, with its file and line, and never at send time.
"""

from __future__ import annotations

import hashlib
import html as _html
import os
import re
import sys
import sysconfig
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, pass_context

from dunning.ladder import TONE_TEMPLATES, Step, Tone
from messages.context import LANGUAGES, STEPS, DraftContext
from messages.formatting import format_amount, format_date, format_rate, format_short_date

BUILTIN_DIR = Path(__file__).parent / "templates"
KINDS = ("subject", "text", "html", "sms", "call")
_NAME = re.compile(r"^(?P<lang>fr|en)/(?P<step>[a-z][a-z0-9_]*)\.(?P<kind>subject|text|html|sms|call)\.j2$")
#: Maximum length of one SMS (GSM 03.38 alphabet, single part).
SMS_LIMIT = 160


class TemplateError(Exception):
    """A template cannot be used; the message names the file and the line."""

    def __init__(self, message: str, *, filename: str | None = None, lineno: int | None = None) -> None:
        where = f"{filename}:{lineno}: " if filename and lineno else f"{filename}: " if filename else ""
        super().__init__(f"{where}{message}")
        self.filename = filename
        self.lineno = lineno


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an e-mail."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class Draft:
    """A rendered e-mail: one-line subject, plain-text body, HTML body, attachments."""

    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    # An answer to a client's message (a "reply" draft, services.reply_actions): its Message-ID and the thread's.
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()

    def with_edits(self, subject: str | None = None, text: str | None = None) -> Draft:
        """The draft after the owner edited the subject and/or the text; the HTML is rebuilt from the text, escaped."""
        new_subject = one_line(subject) if subject is not None else self.subject
        if text is None:
            return replace(self, subject=new_subject)
        return replace(self, subject=new_subject, text=text, html=text_to_html(text, title=new_subject))


def one_line(text: str) -> str:
    """`text` on one line (no CR/LF: a subject header must never be split), spaces collapsed."""
    from messages.context import clean_text

    return clean_text(" ".join(text.split()), 250)


def text_to_html(text: str, *, title: str = "") -> str:
    """A plain-text body as a minimal HTML document: escaped, blank lines -> paragraphs, newlines -> <br>."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "\n".join("<p>" + "<br>\n".join(_html.escape(line) for line in p.splitlines()) + "</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{_html.escape(title)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222;">\n'
        f"{body}\n</body></html>\n"
    )


def _lang_of(context: Any) -> str:
    # The language of a format is that of the template's folder ("en/_macros.text.j2" -> en): macros imported
    # without context do not see `ctx`, and a template's wording and number formats must agree anyway.
    name = context.name or ""
    if name[2:3] == "/" and name[:2] in LANGUAGES:
        return str(name[:2])
    ctx = context.get("ctx")
    return ctx.client_language if isinstance(ctx, DraftContext) else "fr"


@pass_context
def _f_amount(context: Any, value: Decimal, currency: str = "EUR") -> str:
    return format_amount(value, currency, _lang_of(context))


@pass_context
def _f_date(context: Any, value: date) -> str:
    return format_date(value, _lang_of(context))


@pass_context
def _f_rate(context: Any, value: Decimal) -> str:
    return format_rate(value, _lang_of(context))


@pass_context
def _f_days(context: Any, value: int) -> str:
    if _lang_of(context) == "fr":
        return f"{value} jour" if value in (0, 1) else f"{value}\u00a0jours"
    return f"{value} day" if value == 1 else f"{value} days"


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's compiled templates kept between processes (its per-user folder in the system's temporary directory,
    which it checks is private; an entry is keyed by the template's file and checked against its source): compiling
    every template at each start-up's check cost about a second. None when that folder cannot be used."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


#: The check's code and data: a passing verdict is kept only for these packages' exact files (messages/ holds the
#: renderer, the letter, the sample contexts and the built-in templates; dunning/ the ladder, rates and penalties).
_CHECK_PACKAGES = (Path(__file__).parent, Path(__file__).parent.parent / "dunning")
_VERDICT_VERSION = b"relance-template-check-1"


def verdict_dir() -> Path | None:
    """Where passing template checks are remembered between processes: the folder of Jinja's bytecode cache (its
    private per-user folder in the system's temporary directory, which Jinja checks is ours and not shared). None
    when it cannot be used: every start then checks the templates in full."""
    cache = _bytecode_cache()
    directory = getattr(cache, "directory", None)
    return Path(directory) if directory else None


def _hash_tree(digest: Any, root: Path, *, skip: tuple[str, ...] = ()) -> None:
    """Every file under `root` (except `skip` folders and compiled files) into `digest`: its path and its bytes."""
    files: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and os.path.join(folder, d) not in skip)
        if any(os.path.islink(os.path.join(folder, d)) for d in dirs):
            # A linked folder is not walked here but Jinja may read through it: no key covers it, nothing is kept.
            raise OSError(f"linked folder in {folder}")
        files.extend((os.path.relpath(os.path.join(folder, n), root), Path(folder, n)) for n in names)
    for rel, path in sorted(files):
        if rel.endswith((".pyc", ".pyo")):
            continue
        content = path.read_bytes()
        digest.update(b"\0F%d:%s\0%d:" % (len(rel), rel.encode("utf-8", "surrogateescape"), len(content)))
        digest.update(content)


def _installed_packages() -> list[str]:
    """The installed distributions with their versions (names of the *.dist-info folders: "Jinja2-3.1.4.dist-info"):
    an upgraded Jinja, fpdf2 or Babel changes the check's verdict key."""
    found: list[str] = []
    for key in ("purelib", "platlib"):
        folder = sysconfig.get_paths().get(key)
        if folder and os.path.isdir(folder):
            found.extend(f"{key}/{n}" for n in os.listdir(folder) if n.endswith((".dist-info", ".egg-info", ".pth")))
    return sorted(set(found))


class Renderer:
    """Renders drafts, SMS and call scripts; built once, from the built-in templates and optional overrides.

    With `verdicts` (a private folder, see `verdict_dir`), a check that passed is remembered there under a SHA-256
    of everything it depends on, and the same check with the same inputs in a later process is not run again.
    """

    def __init__(self, templates_dir: Path | str | None = None, *, verdicts: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        self.templates_dir = Path(templates_dir) if templates_dir is not None else None
        if self.templates_dir is not None:
            if not self.templates_dir.is_dir():
                raise TemplateError("TEMPLATES_DIR is not a folder", filename=str(self.templates_dir))
            loaders.append(FileSystemLoader(self.templates_dir))
        loaders.append(FileSystemLoader(BUILTIN_DIR))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            # Only HTML templates are escaped; subject, text, SMS and call scripts are plain text.
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
            cache_size=-1,
            bytecode_cache=_bytecode_cache(),
        )
        self.env.filters.update(
            amount=_f_amount, date=_f_date, rate=_f_rate, days=_f_days, short_date=format_short_date
        )
        self._cache: dict[str, jinja2.Template] = {}
        self._known_steps: frozenset[str] | None = None
        self._checked: set[frozenset[str]] = set()
        self.verdicts = verdicts
        #: Whether the last check() was answered by a remembered verdict (for tests and logs).
        self.check_remembered = False

    # --- loading and checking ---------------------------------------------------------------------------------
    def _template(self, name: str) -> jinja2.Template:
        tmpl = self._cache.get(name)
        if tmpl is None:
            try:
                tmpl = self.env.get_template(name)
            except jinja2.TemplateNotFound:
                raise TemplateError(
                    f"no template {name}: add it to TEMPLATES_DIR or use a step that has templates", filename=name
                ) from None
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(
                    exc.message or "syntax error", filename=exc.filename or name, lineno=exc.lineno
                ) from None
            self._cache[name] = tmpl
        return tmpl

    def template_names(self) -> list[str]:
        """Every message template name known (built-in and overrides), e.g. "fr/reminder_1.text.j2"."""
        return sorted(n for n in self.env.list_templates(extensions=["j2"]) if _NAME.match(n))

    def steps(self) -> list[str]:
        """Every step that has at least one template."""
        return sorted({m.group("step") for n in self.template_names() if (m := _NAME.match(n))})

    def check(self, steps: Iterable[str | Step] = ()) -> None:
        """Compile and render every template with sample contexts; raise TemplateError naming the file and line.

        `steps` (the ladder's steps, or bare names) must each have every kind in every language: a step the
        built-in templates do not have needs its files in TEMPLATES_DIR — unless it has none at all and comes with
        its tone (a `Step`), which then words it (`template_step`) — and a missing one is named with its step.
        Every step's whole e-mail is then composed, and the letters drawn as PDF, from sample data.
        """
        # A ladder step given with its tone (a `Step`) may have no templates of its own: its tone's are then used.
        named = [(s, "") if isinstance(s, str) else (s.name, s.tone.value) for s in steps]
        required = frozenset({*STEPS, *(self.template_step(n, tone) for n, tone in named)})
        self.check_remembered = False
        if required in self._checked:
            return  # the templates are read once (no reload): what passed once passes again
        verdict = self._verdict_file(named)
        if verdict is not None and _passed(verdict):
            self.check_remembered = True
            self._checked.add(required)
            return
        self._check(required)
        self._checked.add(required)
        if verdict is not None:
            _remember_pass(verdict)

    def _verdict_file(self, named: Sequence[tuple[str, str]]) -> Path | None:
        """The file that says a check of these steps passed with these exact inputs: a SHA-256 of the steps (names
        and tones), every file of TEMPLATES_DIR and of the built-in templates (names and bytes), the check's code
        and data (messages/, dunning/), the Python version and the installed packages' versions. Any change, a
        template's byte included, names another file, so a stale pass is never read. None: nothing remembered."""
        if self.verdicts is None:
            return None
        digest = hashlib.sha256(_VERDICT_VERSION)
        digest.update(repr(sorted(set(named))).encode())
        try:
            if self.templates_dir is not None:
                digest.update(
                    b"\0TEMPLATES_DIR\0" + str(self.templates_dir.resolve()).encode("utf-8", "surrogateescape")
                )
                _hash_tree(digest, self.templates_dir)
            digest.update(b"\0BUILTIN\0")
            _hash_tree(digest, BUILTIN_DIR)
            for package in _CHECK_PACKAGES:
                digest.update(b"\0PACKAGE\0" + package.name.encode())
                _hash_tree(digest, package, skip=(str(BUILTIN_DIR),))
            digest.update(b"\0PYTHON\0" + sys.version.encode() + "\n".join(_installed_packages()).encode())
            # Where the libraries already loaded come from (one found through PYTHONPATH, outside the environment).
            for module in ("jinja2", "markupsafe", "babel"):
                where = f"{module} {getattr(sys.modules.get(module), '__file__', '?')}\n"
                digest.update(where.encode("utf-8", "surrogateescape"))
        except OSError:
            return None  # a file that cannot be read: the check runs (and says so with its file)
        return self.verdicts / f"relance-check-{digest.hexdigest()}"

    def _check(self, required: frozenset[str]) -> None:
        if self.templates_dir is not None:
            for path in sorted(self.templates_dir.rglob("*")):
                rel = path.relative_to(self.templates_dir).as_posix()
                if path.is_file() and not rel.startswith(("_", ".")) and "/_" not in rel and not _NAME.match(rel):
                    raise TemplateError(
                        "unexpected file name: expected {lang}/{step}.{kind}.j2 with lang fr|en and kind "
                        + "|".join(KINDS),
                        filename=str(path),
                    )
        known = set(self.template_names())
        for step in sorted(required):
            for lang in LANGUAGES:
                for kind in KINDS:
                    name = f"{lang}/{step}.{kind}.j2"
                    if name not in known:
                        folder = self.templates_dir if self.templates_dir is not None else Path("TEMPLATES_DIR")
                        raise TemplateError(
                            f'ladder step "{step}" has no {kind} template in {lang}: add this file to TEMPLATES_DIR '
                            f"(every step needs {', '.join(KINDS)} in fr and en)",
                            filename=str(folder / name),
                        )
                    self._template(name)
        for name in sorted(known):
            match = _NAME.match(name)
            assert match is not None
            tmpl = self._template(name)
            for ctx in sample_contexts(match.group("step"), match.group("lang")):
                _checked(tmpl, partial(tmpl.render, ctx=ctx, subject="Sample subject"))
        from messages.letter import LETTER_TEMPLATE, REMINDER_LETTER_TEMPLATE, letter_parts

        letter = self._template(LETTER_TEMPLATE)
        for lang in LANGUAGES:
            for ctx in sample_contexts("formal_notice", lang):
                _checked(letter, partial(letter_parts, ctx, self))
        # The reminder letter (a firm or friendly step posted as a letter), in each tone it words differently.
        reminder_letter = self._template(REMINDER_LETTER_TEMPLATE)
        for lang in LANGUAGES:
            for ctx in sample_contexts("reminder_2", lang):
                for tone, channel in (("firm", "registered_letter"), ("friendly", "email+letter")):
                    _checked(reminder_letter, partial(letter_parts, replace(ctx, step_tone=tone, channel=channel),
                                                      self))  # fmt: skip
        # Each step's whole message, as the owner will see it: subject on one line, text, HTML, SMS, call script,
        # and for the formal notice the PDF letter (fonts and layout included), in both languages.
        for step in sorted(required):
            for lang in LANGUAGES:
                ctx = sample_contexts(step, lang)[1]  # several invoices, a part payment, every optional field
                _checked(self._template(f"{lang}/{step}.text.j2"), partial(self.render_draft, ctx))
                _checked(self._template(f"{lang}/{step}.sms.j2"), partial(self.render_sms, ctx))
                _checked(self._template(f"{lang}/{step}.call.j2"), partial(self.render_call_script, ctx))

    # --- rendering ----------------------------------------------------------------------------------------------
    def template_step(self, step: str, tone: str = "") -> str:
        """The step whose templates a message of `step` uses: its own when it has any (built-in or TEMPLATES_DIR),
        else those its tone falls back to (dunning.ladder.TONE_TEMPLATES: informative -> pre_reminder, friendly ->
        reminder_1, firm -> reminder_2, formal -> formal_notice); `step` itself when neither exists."""
        if step in self._steps():
            return step
        try:
            fallback = TONE_TEMPLATES.get(Tone(tone)) if tone else None
        except ValueError:
            fallback = None
        return fallback if fallback is not None and fallback in self._steps() else step

    def _steps(self) -> frozenset[str]:
        if self._known_steps is None:
            self._known_steps = frozenset(self.steps())
        return self._known_steps

    def render(self, ctx: DraftContext, kind: str, *, step: str | None = None, subject: str = "") -> str:
        """One template of `ctx`'s step (or `step`) in the client's language; HTML templates also get `subject`.
        A step without templates of its own is worded by its tone (see `template_step`)."""
        chosen = step or self.template_step(ctx.step, ctx.step_tone)
        tmpl = self._template(f"{ctx.client_language}/{chosen}.{kind}.j2")
        return tmpl.render(ctx=ctx, subject=subject)

    def render_email(self, ctx: DraftContext) -> Draft:
        """Subject, text and HTML, without attachments."""
        subject = one_line(self.render(ctx, "subject"))
        text = _tidy(self.render(ctx, "text"))
        return Draft(subject, text, self.render(ctx, "html", subject=subject))

    def render_draft(self, ctx: DraftContext) -> Draft:
        """The e-mail draft; the formal notice carries the letter as PDF, and known invoice PDFs are attached."""
        draft = self.render_email(ctx)
        attachments = list(_invoice_pdfs(ctx))
        if ctx.with_letter:
            # The letter goes first (the step's channel posts it, or it is the formal notice): the e-mail is its copy.
            from messages.letter import letter_filename, render_formal_notice_pdf

            attachments.insert(
                0, Attachment(letter_filename(ctx), render_formal_notice_pdf(ctx, self), "application/pdf")
            )
        return replace(draft, attachments=tuple(attachments)) if attachments else draft

    def render_sms(self, ctx: DraftContext) -> str:
        """The SMS text, on one line (aim: at most 160 characters)."""
        return " ".join(self.render(ctx, "sms").split())

    def render_call_script(self, ctx: DraftContext) -> str:
        """The phone-call script for the owner."""
        return _tidy(self.render(ctx, "call"))


def _tidy(text: str) -> str:
    """Trailing spaces removed, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out) + "\n"


class InvoicePdfError(Exception):
    """An invoice's PDF, as imported, cannot be produced: the file is gone or unreadable, or its bytes are no longer
    those whose SHA-256 was recorded. The message names the invoice and the problem (French, then English).

    `problem` is "missing", "unreadable", "altered" or "no_hash"; `found` is the SHA-256 of the bytes on disk
    when the file could be read.
    """

    def __init__(self, number: str, path: str, recorded: str | None, problem: str, found: str | None = None) -> None:
        self.number, self.path, self.recorded, self.problem, self.found = number, path, recorded, problem, found
        super().__init__(_PDF_PROBLEMS[problem].format(number=number, path=path, recorded=recorded, found=found))


_PDF_PROBLEMS = {
    "missing": (
        "facture {number} : le PDF joint a disparu ({path}) ; réimportez-le avec la facture avant d'envoyer. "
        "/ invoice {number}: the attached PDF is missing ({path}); import it again before sending."
    ),
    "unreadable": (
        "facture {number} : le PDF joint ne peut pas être lu ({path}) ; vérifiez le fichier ou réimportez-le. "
        "/ invoice {number}: the attached PDF cannot be read ({path}); check the file or import it again."
    ),
    "altered": (
        "facture {number} : le PDF joint a été modifié depuis son import ({path} ; SHA-256 enregistré {recorded}, "
        "trouvé {found}) ; réimportez la bonne version. / invoice {number}: the attached PDF has changed since it "
        "was imported ({path}; recorded SHA-256 {recorded}, found {found}); import the right version again."
    ),
    "no_hash": (
        "facture {number} : le PDF joint n'a pas d'empreinte SHA-256 enregistrée ({path}) ; réimportez-le. "
        "/ invoice {number}: the attached PDF has no recorded SHA-256 ({path}); import it again."
    ),
}


def read_invoice_pdf(number: str, path: str, sha256: str | None) -> bytes:
    """The bytes of an invoice's PDF, only if they are the ones imported (same SHA-256); else InvoicePdfError.

    One check for every place the PDF leaves the application (reminder e-mails, the evidence dossier): a client
    or a court must never receive another file under the invoice's name, and a vanished file is said, not skipped.
    """
    if not sha256:
        raise InvoicePdfError(number, path, sha256, "no_hash")
    try:
        content = Path(path).read_bytes()
    except FileNotFoundError:
        raise InvoicePdfError(number, path, sha256, "missing") from None
    except OSError:  # a folder in its place, no permission, I/O error
        raise InvoicePdfError(number, path, sha256, "unreadable") from None
    found = hashlib.sha256(content).hexdigest()
    if found != sha256.lower():
        raise InvoicePdfError(number, path, sha256, "altered", found)
    return content


def _invoice_pdfs(ctx: DraftContext) -> Iterable[Attachment]:
    # Fail closed: the e-mail promises the invoice as attached, so a PDF that is gone or altered stops the draft
    # (the card says which invoice and why, and offers no Envoyer) instead of leaving without it or with another.
    for inv in ctx.invoices:
        if inv.pdf_path:
            content = read_invoice_pdf(inv.number, inv.pdf_path, inv.pdf_sha256)
            yield Attachment(Path(inv.pdf_path).name, content, "application/pdf")


def _passed(verdict: Path) -> bool:
    """Whether `verdict` records a pass (any read problem: it does not)."""
    try:
        return verdict.read_bytes() == _VERDICT_VERSION + b" passed\n"
    except OSError:
        return False


def _remember_pass(verdict: Path) -> None:
    """Record a pass (written whole, then renamed into place); a folder that cannot be written is no error."""
    temporary = verdict.with_name(f"{verdict.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(_VERDICT_VERSION + b" passed\n")
        os.replace(temporary, verdict)
    except OSError:
        temporary.unlink(missing_ok=True)


def _checked(tmpl: jinja2.Template, action: Callable[[], object]) -> None:
    """Run `action`; turn any error into a TemplateError naming the template file and line."""
    try:
        action()
    except TemplateError:
        raise
    except jinja2.TemplateError as exc:
        filename, lineno = _template_position(exc, tmpl)
        raise TemplateError(str(exc.message or exc), filename=filename, lineno=lineno) from None
    except Exception as exc:  # a filter or attribute raising on a template's own mistake
        filename, lineno = _template_position(exc, tmpl)
        raise TemplateError(f"{type(exc).__name__}: {exc}", filename=filename, lineno=lineno) from None


def _template_position(exc: BaseException, tmpl: jinja2.Template) -> tuple[str, int | None]:
    """The template file and line where `exc` was raised (Jinja maps template frames to template lines)."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.filename or tmpl.filename or "?", exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return frame.filename, frame.lineno
    return tmpl.filename or tmpl.name or "?", None


def sample_contexts(step: str, lang: str) -> Sequence[DraftContext]:
    """Contexts that exercise every branch of the built-in templates (profiles, consumer, several invoices...)."""
    from messages.samples import sample_contexts as _samples

    return _samples(step, lang)


#: Hook for tests and benches: build a default renderer once.
_default: list[Renderer] = []


def default_renderer() -> Renderer:
    """A renderer of the built-in templates, built once per process."""
    if not _default:
        _default.append(Renderer())
    return _default[0]


__all__ = [
    "SMS_LIMIT",
    "Attachment",
    "Draft",
    "Renderer",
    "TemplateError",
    "default_renderer",
    "one_line",
    "text_to_html",
]
