"""``dunes maml validate|fmt|run|keygen|sign|verify|encrypt|decrypt``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dunes.interfaces.cli.common import (
    JsonFlag,
    console,
    err_console,
    lazy_import,
    print_json,
    services,
)

if TYPE_CHECKING:
    from dunes.services import maml as maml_service
else:
    maml_service = lazy_import("dunes.services.maml")

app = typer.Typer(
    help="MAML documents: validate, format, sign, encrypt and run.", no_args_is_help=True
)

FileArg = Annotated[Path, typer.Argument(help="A .maml.md file.")]


@app.command()
def validate(file: FileArg, as_json: JsonFlag = False) -> None:
    """Parse and check a document; exit 1 when it has errors."""
    report = maml_service.validate_maml(text=maml_service.read_document(file))
    if as_json:
        print_json(report)
    else:
        for finding in [*report.errors, *report.warnings]:
            console.print(
                f"{file}:{finding.line or 1}: {finding.severity}: {finding.message}",
                highlight=False,
                soft_wrap=True,
            )
        state = "valid" if report.valid else "invalid"
        console.print(
            f"{file}: {state}, {len(report.blocks)} block(s), {'signed' if report.signed else 'unsigned'}",
            highlight=False,
        )
    if not report.valid:
        raise typer.Exit(1)


@app.command()
def fmt(
    file: FileArg,
    check: Annotated[
        bool, typer.Option("--check", help="Only report; exit 1 if it would change.")
    ] = False,
    stdout: Annotated[
        bool, typer.Option("--stdout", help="Print instead of rewriting the file.")
    ] = False,
) -> None:
    """Rewrite fences CommonMark would misread (outer fences made longer, wrapper fences removed)."""
    text = maml_service.read_document(file)
    formatted, changes = maml_service.format_maml(text=text)
    for change in changes:
        err_console.print(f"{file}: {change}", highlight=False, soft_wrap=True)
    if stdout:
        typer.echo(formatted, nl=False)
    elif check:
        if changes:
            raise typer.Exit(1)
    elif formatted != text:
        maml_service.write_document(file, formatted)


@app.command()
def run(
    file: FileArg,
    block: Annotated[str | None, typer.Option(help="Run only this block.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and list blocks; run nothing.")
    ] = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="key=value; repeatable.")
    ] = None,
    trust: Annotated[
        bool, typer.Option("--trust", help="Run this local file even if unsigned.")
    ] = False,
    frozen: Annotated[
        bool, typer.Option("--frozen", help="Fail when outputs differ from the History.")
    ] = False,
    key: Annotated[
        list[Path] | None, typer.Option("--key", help="Public key to verify with; repeatable.")
    ] = None,
    decrypt_key: Annotated[
        Path | None, typer.Option(help="AES key for encrypted documents.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a document's blocks in order under its permissions and the local policy."""
    with services() as held:
        result = maml_service.run_maml(
            services=held,
            origin="local",
            text=maml_service.read_document(file),
            source_path=file,
            block=block,
            params=maml_service.parse_params(param or []),
            dry_run=dry_run,
            trust=trust,
            frozen=frozen,
            keys=key or [],
            decrypt_key=maml_service.read_symmetric_key(decrypt_key) if decrypt_key else None,
            progress=None
            if as_json
            else lambda _f, msg: err_console.print(f"running {msg}", highlight=False),
        )
    if as_json:
        print_json(result)
    else:
        for warning in result.warnings:
            err_console.print(f"warning: {warning}", highlight=False, soft_wrap=True)
        for b in result.blocks:
            console.print(
                f"[{b.status}] {b.name} ({b.language}, line {b.line})"
                + (f": {b.reason}" if b.reason else ""),
                highlight=False,
                markup=False,
            )
            if b.stdout and b.status != "skipped":
                console.print(
                    b.stdout.rstrip()[-2000:], highlight=False, markup=False, soft_wrap=True
                )
            if b.stderr and b.status in {"failed", "timeout"}:
                err_console.print(b.stderr.rstrip()[-2000:], highlight=False, markup=False)
        for line in result.drift:
            err_console.print(f"drift: {line}", highlight=False, soft_wrap=True)
        console.print(
            f"run {result.run_id}: {result.status}"
            + (", history written" if result.history_written else ""),
            highlight=False,
        )
    if result.status not in {"ok", "dry_run"}:
        raise typer.Exit(1)


@app.command()
def keygen(
    out: Annotated[
        Path, typer.Option("--out", help="Private key path; the public key goes to OUT.pub.")
    ],
    symmetric: Annotated[
        bool, typer.Option("--symmetric", help="Write an AES-256 key for encrypt/decrypt instead.")
    ] = False,
) -> None:
    """Create an ML-DSA-65 key pair (or an AES-256 key with --symmetric)."""
    written = maml_service.keygen(out, symmetric=symmetric)
    if symmetric:
        console.print(f"wrote {written[0]}", highlight=False)
        return
    console.print(f"wrote {written[0]} (private, keep it secret) and {written[1]}", highlight=False)


@app.command()
def sign(
    file: FileArg,
    key: Annotated[Path, typer.Option("--key", help="ML-DSA-65 private key (from keygen).")],
    out: Annotated[Path | None, typer.Option(help="Write here instead of in place.")] = None,
) -> None:
    """Embed an ML-DSA-65 signature in the document's front matter."""
    console.print(f"signed {maml_service.sign_file(file, key=key, out=out)}", highlight=False)


@app.command()
def verify(
    file: FileArg,
    key: Annotated[list[Path], typer.Option("--key", help="Public key (NAME.pub); repeatable.")],
) -> None:
    """Check the embedded signature; exit 1 when it is missing or does not verify."""
    info = maml_service.verify_file(file, keys=key)
    console.print(
        f"{file}: signature valid, key {info.key_id}, signed {info.signed_at}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def encrypt(
    file: FileArg,
    key: Annotated[Path, typer.Option("--key", help="AES key (keygen --symmetric).")],
    section: Annotated[str | None, typer.Option(help="Encrypt only this section's body.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write here instead of in place.")] = None,
) -> None:
    """Encrypt the document, or one section, with AES-256-GCM."""
    done = maml_service.encrypt_file(file, key=key, section=section, out=out)
    console.print(f"encrypted {done}", highlight=False)


@app.command()
def decrypt(
    file: FileArg,
    key: Annotated[Path, typer.Option("--key", help="AES key (keygen --symmetric).")],
    out: Annotated[Path | None, typer.Option(help="Write here instead of in place.")] = None,
) -> None:
    """Decrypt a document or its encrypted sections."""
    console.print(f"decrypted {maml_service.decrypt_file(file, key=key, out=out)}", highlight=False)
