"""The facade: one method per user action. Frontends (Telegram) call it and render its views."""
