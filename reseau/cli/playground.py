"""``reseau playground``: the notes' network, trained live in the browser (reseau/playground)."""

from __future__ import annotations


def cmd_playground(args) -> int:
    from ..playground import serve

    return serve(port=args.port, open_browser=not args.no_browser, settings=args.settings)


def add_parser(sub):
    """The ``playground`` command and its options."""
    p = sub.add_parser(
        "playground",
        allow_abbrev=False,
        help="train the notes' network live in a browser",
        description="Start the playground on this machine (127.0.0.1 only, a random token in its URL) and "
        "open it: 2-D data, the network, its activations, init, regularisation, optimiser and schedule "
        "set on the page, trained by reseau with the decision boundary, the losses and each layer's "
        'gradient norm drawn live. Needs the playground extra: pip install "reseau[playground]".',
    )
    p.add_argument("--port", type=int, default=0, help="the port to listen on (default: 0, a free one)")
    p.add_argument(
        "--no-browser", action="store_true", help="print the URL without opening a browser (default: open one)"
    )
    p.add_argument(
        "--settings",
        default=None,
        metavar="QUERY",
        help="open with these settings, e.g. 'data=circles&layers=16,16,16,16&activation=sigmoid' "
        "(the page's URL keeps them after #; default: the notes' network on moons)",
    )
    p.set_defaults(func=cmd_playground)
