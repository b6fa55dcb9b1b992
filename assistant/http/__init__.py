"""The household web page, JSON API, event stream and ICS feed (`[http] enabled = true`).

One module per job: `service` runs uvicorn beside the daemon, `app` wires the FastAPI
application, `api` and `pages` are the routes, `items` the reads and edits they share,
`security` the token/CSRF/limits guard, `events` the server-sent event hub, `ics` the
calendar feed, `charts` the server-side SVG, `metrics` request timings, and `shopping`
the one adapter to the shopping list the voice skill keeps (`store.lists`).
"""
