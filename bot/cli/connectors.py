"""The wiring: settings in, connectors out. The one place that knows which adapter serves which platform.

Each platform's configuration is read one way, from `bot.config.Settings`, and handed to its adapter as a
plain value (`SlackCredentials`, `DiscordOptions`). Platform SDKs are imported only for a platform in use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.app import App
from bot.commands.command_core import CommandCore
from bot.config import Settings
from bot.connector import Connector

if TYPE_CHECKING:
    from adapters.discord.discord_adapter import DiscordOptions
    from adapters.slack.slack_runtime import SlackCredentials


def slack_credentials(settings: Settings) -> SlackCredentials | None:
    """The Slack settings as the adapter takes them; None when Slack is not configured at all."""
    if not settings.slack_configured:
        return None
    from adapters.slack.slack_runtime import SlackCredentials

    return SlackCredentials(bot_token=settings.slack_bot_token, app_token=settings.slack_app_token,
                            signing_secret=settings.slack_signing_secret,
                            client_id=(settings.slack_client_id or "").strip() or None,
                            client_secret=settings.slack_client_secret, api_base_url=settings.slack_api_url)


def discord_options(settings: Settings) -> DiscordOptions:
    from adapters.discord.discord_adapter import DiscordOptions

    return DiscordOptions(token=settings.discord_token, application_id=settings.discord_application_id,
                          sharded=settings.discord_sharded, message_content=settings.discord_message_content,
                          post_interval=settings.discord_post_interval, api_url=settings.discord_api_url,
                          gateway_url=settings.discord_gateway_url)


def build_connectors(app: App, core: CommandCore, *, console: bool = False, interactive: bool = False,
                     on_console_exit: Callable[[], None] | None = None) -> list[Connector]:
    """Every configured platform, plus the console: it always posts the console destinations' digests, and it
    reads the terminal when asked to (`console`) or when no platform is configured."""
    settings = app.settings
    connectors: list[Connector] = []
    credentials = slack_credentials(settings)
    if credentials is not None:
        from adapters.slack.slack_runtime import SlackConnector

        connectors.append(SlackConnector(core, credentials, app.db, http_port=settings.http_port))
    if settings.discord_configured:
        from adapters.discord.discord_adapter import DiscordConnector

        connectors.append(DiscordConnector(core, discord_options(settings)))
    from adapters.console.console_connector import ConsoleConnector

    listen = (console or settings.console or not connectors) and interactive
    connectors.append(ConsoleConnector(core, channel=settings.console_channel, interactive=listen,
                                       on_exit=on_console_exit))
    return connectors
