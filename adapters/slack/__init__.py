"""The Slack adapter (slack-bolt): Block Kit rendering, listeners, digest posting, Socket Mode and HTTP/OAuth."""
