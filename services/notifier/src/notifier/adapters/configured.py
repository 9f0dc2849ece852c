"""The channels a deployment configures in its settings, and the builder of organizations'
own channels: what bootstrap wires from Settings."""

import ssl

from notifier.adapters.email import EmailChannel, SmtpConfig
from notifier.adapters.registry import ChannelFactory, HttpSession
from notifier.adapters.slack import SlackChannel
from notifier.config import Settings
from notifier.ports import Resolved


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificate verification for SMTP: the system CAs plus REX_NOTIFIER_SMTP_CA_FILE."""
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


def default_channels(settings: Settings, session: HttpSession) -> dict[str, Resolved]:
    """The channels configured by settings: email when there are recipients, Slack when a URL."""
    channels: dict[str, Resolved] = {}
    if settings.email_recipients:
        key = f"email:{settings.channel_name}"
        config = SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            recipients=settings.email_recipients,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            tls=settings.smtp_tls,
            timeout_s=settings.smtp_timeout_s,
            tls_context=tls_context(settings),
        )
        channels[key] = Resolved(EmailChannel(config, key=key), settings.email_rate)
    if url := settings.slack_webhook_url.get_secret_value():
        key = f"slack:{settings.channel_name}"
        slack = SlackChannel(url, key=key, timeout_s=settings.slack_timeout_s, session=session)
        channels[key] = Resolved(slack, settings.slack_rate)
    return channels


def channel_factory(settings: Settings, session: HttpSession) -> ChannelFactory:
    """Builds the adapters of the organizations' own channels."""
    return ChannelFactory(
        session=session,
        tls_context=tls_context(settings),
        smtp_timeout_s=settings.smtp_timeout_s,
        slack_timeout_s=settings.slack_timeout_s,
        webhook_timeout_s=settings.webhook_timeout_s,
    )
