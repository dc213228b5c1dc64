"""`dfer-curate review RUN`: the Streamlit review dashboard on 127.0.0.1."""

HELP = "open the review dashboard (Streamlit on 127.0.0.1): queue, video, overview, export"
EXAMPLE = "dfer-curate review runs/demo --annotator alice --port 8501"


def add_arguments(parser):
    parser.add_argument("run", help="run directory with manifest.parquet and scores.parquet")
    parser.add_argument("--port", type=int, default=None, help="port (default 8501, or a free one if taken)")
    parser.add_argument("--annotator", default=None, help="your name in the decision log (default: OS user)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: only this machine can connect)")


def run(args):
    from app.launch import serve

    return serve(args.run, port=args.port, annotator=args.annotator, address=args.address)
