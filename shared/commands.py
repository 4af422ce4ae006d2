"""Command-line actions: `flask --app wsgi <command>`."""

import click
from flask import Flask

from shared import services


def init_app(app: Flask) -> None:
    @app.cli.command("demo-data")
    def demo_data_command():
        """Load the demo organisation, staff and customer once (safe to run again)."""
        from shared.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo_data

        created = load_demo_data()
        services.commit()
        click.echo("Demo data loaded." if created else "Demo data already present.")
        click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for role, email, where in DEMO_LOGINS:
            click.echo(f"  {role:<9} {email:<22} {where}")

    @app.cli.command("deliver-mail")
    def deliver_mail_command():
        """Send outgoing email that is due, including retries of failed sends."""
        from shared.services.mail import deliver_due

        click.echo(f"Delivered {deliver_due(limit=500)} message(s).")

    @app.cli.command("seed")
    @click.option("--cases", "case_count", type=click.IntRange(min=0), default=1000,
                  show_default=True, help="How many cases to add.")
    @click.option("--seed", "seed_value", type=int, default=1, show_default=True,
                  help="The same seed gives the same data.")
    @click.option("--append", is_flag=True, help="Add to a database that already has cases.")
    @click.option("--now", "now_text", default=None, metavar="ISO-TIME",
                  help="Pretend it is this moment (UTC), for data identical to the byte.")
    def seed_command(case_count, seed_value, append, now_text):
        """Fill the database with a large, realistic, repeatable data set."""
        from datetime import UTC, datetime

        from shared.seed import SeedRefused, seed_database

        now = None
        if now_text:
            try:
                now = datetime.fromisoformat(now_text)
            except ValueError as error:
                raise click.BadParameter(f"not an ISO date and time: {now_text}") from error
            now = now if now.tzinfo else now.replace(tzinfo=UTC)
        try:
            report = seed_database(
                case_count, seed_value, append=append, now=now,
                progress=lambda message: click.echo(f"  {message}"),
            )
        except SeedRefused as refusal:
            raise click.ClickException(str(refusal)) from refusal
        click.echo(
            f"Seeded {report.cases} cases, {report.customers} customers, {report.events} events,"
            f" {report.tasks} tasks, {report.commitments} promises and {report.options} remedies"
            f" in {report.seconds:.1f} s."
        )
        if report.created_organisation:
            click.echo("Staff and customers sign in with the demo password (see the README).")
