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
