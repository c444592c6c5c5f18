"""BeatBot on Slack (slack-bolt): translation between Slack and the assistant only.

`app.SlackAdapter` is the entry point (`beatbot serve` mounts its route and runs it); the
parts: `app` (the bolt app, the HTTP route, Socket Mode and the start-up token check), `flow`
(one conversation turn by `bot.policy`'s rules, and event-stream delivery), `blocks`
(Replies -> mrkdwn, the result card and its buttons), `commands` (`/beat` and its words) and
`files` (audio people share). `adapters/discord/` has the same shape.
"""
