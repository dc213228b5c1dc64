"""`dfer-curate browse`: the FiftyOne App on a pushed dataset; Ctrl-C stops it cleanly."""

HELP = "open the FiftyOne App on a pushed run (served on 127.0.0.1; Ctrl-C stops it)"
EXAMPLE = "dfer-curate browse runs/demo --port 5151"


def add_arguments(parser):
    parser.add_argument("target", metavar="RUN|NAME", help="run directory or FiftyOne dataset name")
    parser.add_argument("--port", type=int, help="port to serve on (default: a free one)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)")
    parser.add_argument("--view", help="open a saved view, e.g. suspected-noisy")


def run(args):
    from curation.fiftyone.app import launch, serve_forever

    server = launch(args.target, port=args.port, address=args.address, view=args.view)
    print(f"FiftyOne App: {server.url}", flush=True)
    print("saved views are in the App's view bar (suspected-noisy, hard, ...); press Ctrl-C to stop",
          flush=True)
    serve_forever(server)
    print("stopped", flush=True)
