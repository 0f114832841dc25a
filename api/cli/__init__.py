"""The command line, `pioneer` (`python -m api.cli`): setting up and running the service.

`pioneer init` founds the first committee and its admin on an empty database; every other
command that reads or changes data acts as a named member (`--as PHONE`, or `PIONEER_AS`), with
that member's roles and scope, through the same service call and checks as the API. Exit codes:
0 done, 1 refused by a rule of the service (its message on stderr), 2 a usage error.
"""

import typer

from api.cli import org, setup, work

app = typer.Typer(
    name="pioneer",
    help=(
        "先锋积分 管理命令。除 init、seed-demo、db-roles、presets 外均须 --as 手机号："
        "以该党员的身份和权限操作"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("init")(setup.init)
app.command("seed-demo")(setup.seed_demo)
app.command("db-roles")(setup.db_roles)
app.command("presets")(setup.presets)
app.command("import-roster")(work.import_roster)
app.command("attach-preset")(work.attach_preset)
app.add_typer(work.period, name="period")
app.command("resend-dead")(work.resend_dead)
app.command("rebuild-ranks")(work.rebuild_ranks)
app.add_typer(org.roles, name="roles")
app.command("invite")(org.invite)
app.command("audit")(org.audit)


def main(argv: list[str] | None = None) -> int:
    """Run a command; its exit code (the `pioneer` script exits with it)."""
    try:
        app(args=argv, prog_name="pioneer")
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
    return 0
