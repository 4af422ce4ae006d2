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
            click.echo(f"  {role:<15} {email:<22} {where}")

    @app.cli.command("deliver-mail")
    def deliver_mail_command():
        """Send outgoing email that is due, including retries of failed sends.

        A message that cannot be sent is that message's problem: the others still go, and
        the command succeeds. It fails only when the mail server itself could not be used;
        what was not tried then is due at the next run."""
        from shared.services.mail import deliver_due_report

        report = deliver_due_report(limit=500)
        click.echo(f"Delivered {report.sent} message(s).")
        if report.failed:
            click.echo(f"{report.failed} could not be sent and will be retried.")
        if report.given_up:
            click.echo(f"{report.given_up} given up after the last attempt (see the outbox).")
        if report.server_error:
            raise click.ClickException(
                f"{report.server_error} ({report.left_for_later} more left for the next run)"
            )

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
        from shared.seed import SeedRefused, seed_database

        now = _moment(now_text)
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

    @app.cli.command("sweep")
    @click.option("--now", "now_text", default=None, metavar="ISO-TIME",
                  help="Sweep as if it were this moment (UTC unless an offset is given).")
    def sweep_command(now_text):
        """Propose escalations at risk, remind owners of updates and promises due, retry mail."""
        from shared.sweep import run_sweep

        report = run_sweep(now=_moment(now_text))
        for line in report.lines():
            click.echo(line)

    @app.cli.command("schedule-sweep")
    def schedule_sweep_command():
        """Run the sweep as a repeating job on RQ workers (needs REDIS_URL)."""
        from shared.sweep import redis_connection, schedule_sweep

        url = app.config.get("REDIS_URL")
        if not url:
            raise click.ClickException(
                "REDIS_URL is not set: without Redis, `flask --app wsgi serve` (make run) "
                "sweeps in-process."
            )
        interval = _sweep_interval(app)
        started, job = schedule_sweep(redis_connection(url), interval)
        if started:
            click.echo(f"The sweep runs now and then every {interval} s (job {job.id}).")
        else:
            click.echo(f"The sweep is already scheduled (job {job.id}); nothing changed.")
        click.echo("Workers run it from the default queue: `make worker`.")

    @app.cli.command("serve", with_appcontext=False)
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=5000, show_default=True)
    def serve_command(host, port):
        """Run the development server, with the sweep on an interval beside it."""
        from werkzeug.serving import run_simple

        from shared.sweep import redis_connection, schedule_sweep, start_sweep_thread

        interval = _sweep_interval(app)
        url = app.config.get("REDIS_URL")
        if url:
            # RQ workers sweep; starting the series here is harmless if it already runs.
            try:
                schedule_sweep(redis_connection(url), interval)
                click.echo("The sweep runs on RQ workers: start them with `make worker`.")
            except Exception as error:  # the site still serves; say why nothing sweeps
                click.echo(f"Could not schedule the sweep on Redis ({error}).", err=True)
        else:
            start_sweep_thread(app, interval)
            click.echo(f"The sweep runs in this process every {interval} s.")
        run_simple(host, port, app, threaded=True)


def _sweep_interval(app: Flask) -> int:
    interval = app.config["SWEEP_INTERVAL_SECONDS"]
    if interval < 1:  # 0 would sweep in a tight loop
        raise click.ClickException(f"SWEEP_INTERVAL_SECONDS must be 1 or more, not {interval}.")
    return interval


def _moment(text):
    """An ISO date and time from the command line, UTC unless it says otherwise."""
    from datetime import UTC, datetime

    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise click.BadParameter(f"not an ISO date and time: {text}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
