"""`dfer-curate pretrain RUN`: self-supervised pretraining of the frame encoder on the run's
own videos (every split; labels never read) or on another corpus, or (``--given-labels``)
training it on the run's own given labels; writes RUN/encoder.pt."""

HELP = "train the frame encoder on the run's given labels (--given-labels) or without labels (--from another run)"
EXAMPLE = "dfer-curate pretrain runs/demo --given-labels   # or without labels: --steps 3000, --from runs/big_unlabelled"


def add_arguments(parser):
    parser.add_argument("run", help="run directory: the encoder is written to RUN/encoder.pt")
    parser.add_argument("--from", dest="source", default=None,
                        help="pretrain on this other run's videos instead (e.g. a large unlabelled corpus ingested once)")
    parser.add_argument("--steps", type=int, default=None, help="training batches (default 3000)")
    parser.add_argument("--size", type=int, default=None,
                        help="frame size; must match train --size (default 32; 64 with --given-labels)")
    parser.add_argument("--batch-size", type=int, default=None, help="frames per batch (default 128)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    parser.add_argument("--given-labels", action="store_true",
                        help="train the encoder on the run's own given labels (every split by default, 12 salient frames "
                             "per video, 64 px, a noise-bounded loss) instead of without labels: it measures far better "
                             "here, but an audit on its embeddings is then not fully out of fold")
    parser.add_argument("--given-splits", default=None,
                        help="with --given-labels: comma-separated splits whose labels it learns (default "
                             "train,val,test: every split is audited alike; train,val keeps the model's test UAR a "
                             "held-out measurement)")
    parser.add_argument("--loss", choices=("gce", "ce"), default=None,
                        help="with --given-labels: gce (generalized cross-entropy, bounds what a wrong label pulls) "
                             "or ce (default gce)")
    parser.add_argument("--exclude-flagged", action="store_true",
                        help="with --given-labels: a second pass (experimental); leave out the videos the run's last "
                             "`score` flagged (noisy or hard-or-noisy), so embed, train --frozen and score judge them "
                             "with an encoder that never learned their labels. It raised F1 on our synthetic faces but "
                             "lost hard videos on two other sets (README, 'A second pass')")
    parser.add_argument("--mixup", type=float, default=None, metavar="ALPHA",
                        help="with --given-labels: blend frames and their labels' losses by Beta(ALPHA, ALPHA) "
                             "weights while training (mixup), which slows the memorization of wrong labels "
                             "(default 1; 0 = off)")
    parser.add_argument("--resume", action="store_true", help="continue from RUN/pretrain/last.pt")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (default auto)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


def run(args):
    import dataclasses

    from model.pretrain import PretrainConfig, pretrain

    names = ("steps", "size", "batch_size", "seed", "device", "threads")
    over = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if args.given_labels:
        return _run_given_labels(args, over)
    if args.given_splits or args.loss or args.exclude_flagged or args.mixup is not None:
        from curation.errors import ConfigError

        raise ConfigError("--given-splits, --loss, --mixup and --exclude-flagged choose how --given-labels trains: "
                          "add --given-labels or drop them")
    cfg = dataclasses.replace(PretrainConfig(), **over).validate()
    out = pretrain(args.run, cfg, source=args.source, progress=True, resume=args.resume)
    print(f"pretrained on {out['frames']:,} frames of {out['videos']:,} videos in {out['seconds']:.0f} s "
          f"(final loss {out['final_loss']:.4f}); encoder {out['encoder']} ({out['sha256']})")
    print(f"next: dfer-curate embed {args.run}")
    return 0


def _run_given_labels(args, over):
    import dataclasses

    from curation.errors import ConfigError
    from model.given_encoder import GivenEncoderConfig, train_given_encoder

    if args.source or args.resume or "batch_size" in over or "device" in over:
        raise ConfigError("--given-labels trains on this run's own labels in one short pass: "
                          "drop --from, --resume, --batch-size and --device")
    if args.given_splits:
        over["splits"] = tuple(s.strip() for s in args.given_splits.split(",") if s.strip())
    if args.loss:
        over["loss"] = args.loss
    if args.mixup is not None:
        over["mixup"] = args.mixup
    over["exclude_flagged"] = args.exclude_flagged
    cfg = dataclasses.replace(GivenEncoderConfig(), **over).validate()
    out = train_given_encoder(args.run, cfg, progress=True)
    left_out = f", leaving out the {out['excluded_flagged']:,} the last score flagged" if cfg.exclude_flagged else ""
    print(f"trained the encoder on the given labels of {out['frames']:,} frames of {out['videos']:,} videos{left_out} "
          f"in {out['seconds']:.0f} s; encoder {out['encoder']} ({out['sha256']})")
    print(f"next: dfer-curate embed {args.run}, then dfer-curate train {args.run} --frozen   "
          f"(or fine-tune it: dfer-curate train {args.run} --size {cfg.size} --init {out['encoder']})")
    return 0
