"""`dfer-curate embed RUN`: run the frozen frame encoder (RUN/encoder.pt from `pretrain`)
once over every frame and cache the embeddings for `train --frozen`."""

HELP = "cache frame embeddings of the pretrained encoder (for train --frozen)"
EXAMPLE = "dfer-curate embed runs/demo && dfer-curate train runs/demo --frozen"


def add_arguments(parser):
    parser.add_argument("run", help="run directory with manifest.parquet and encoder.pt")
    parser.add_argument("--encoder", default=None, help="encoder file (default RUN/encoder.pt)")
    parser.add_argument("--batch-size", type=int, default=512, help="frames per batch (default 512)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default auto)")
    parser.add_argument("--force", action="store_true", help="embed again even if the cache matches the encoder")


def run(args):
    from curation.errors import ConfigError
    from model.embed import embed

    if args.batch_size < 1:
        raise ConfigError("--batch-size must be >= 1")
    out = embed(args.run, encoder_path=args.encoder, batch_size=args.batch_size, device=args.device,
                progress=True, force=args.force)
    if out["reused"]:
        print(f"embeddings of {out['frames']:,} frames already made by encoder {out['encoder_sha256']}; nothing to do")
    else:
        print(f"embedded {out['frames']:,} frames in {out['seconds']:.0f} s ({out['fps']:,.0f} frames/s on {out['device']}) "
              f"with encoder {out['encoder_sha256']}")
    print(f"next: dfer-curate train {args.run} --frozen")
    return 0
