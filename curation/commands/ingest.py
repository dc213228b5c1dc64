"""`dfer-curate ingest`: read a dataset in a known layout into RUN/manifest.parquet."""

HELP = "read a DFEW / FERV39K / MAFW / DFER-CLIP txt / CSV / folder dataset into a run's manifest"
EXAMPLE = "dfer-curate ingest --format dfew --root /data/DFEW --fold 1 --out runs/dfew1"

FORMAT_HELP = """\
formats (paths are relative to --root; row = line number in the named file):
  dfew       EmoLabel_DataSplit/{train,test}(single-labeled)/set_1..5.csv, header
             video_name,label, labels 1..7 = Happy Sad Neutral Angry Surprise Disgust Fear;
             frames in Clip/clip_224x224/<5-digit id>/. All 5 folds are read: `fold` = the set
             in which a video is a test video; --fold N picks this run's test split. No val.
  ferv39k    4_setups/All_scenes/{train,test}_All.csv, lines `Action/Happy/0267 Happy`;
             frames in 2_ClipsforFaceCrop/<Scene>/<Emotion>/<id>/.
  mafw       split/single/no_caption/set_1..5/{train,test}.txt, lines `03747.mp4 anger`;
             frames in data/frames/<id>/ (else data/clips/<id>.mp4). --fold as for dfew.
  dfer-clip  lines `path num_frames label`, labels 0-indexed (--label-base 1 for 1-indexed)
             in --class-order (default dfew).
             Files: --train/--val/--test FILE, or found in --root as train.txt/val.txt/test.txt,
             *set_<fold>_train.txt/*set_<fold>_test.txt, or one *train*.txt + one *test*.txt.
  csv        --csv FILE (default <root>/labels.csv) with header path,label[,split][,video_id][,fold];
             empty split = train; missing video_id = derived from the path.
  folder     <root>/<class>/<video file or frame folder>, or <root>/<split>/<class>/<...>.

Every problem (missing or unreadable video, empty frame folder, unknown label, duplicated id,
path outside the root, wrong columns, 0-indexed labels where 1-indexed are expected) is listed
in one table, also written to RUN/ingest_problems.csv; ingest then writes nothing unless
--skip-bad is given, which writes the good videos and RUN/quarantine.csv of the others.
"""


FORMATS = ("dfew", "ferv39k", "mafw", "dfer-clip", "csv", "folder")  # = curation.data.ingest.FORMATS


def add_arguments(parser):
    parser.epilog = FORMAT_HELP + "\n" + (parser.epilog or "")
    parser.add_argument("--format", required=True, choices=FORMATS, help="dataset layout")
    parser.add_argument("--root", required=True, help="dataset folder; manifest paths are relative to it")
    parser.add_argument("--out", required=True, help="run directory to write (created if missing)")
    parser.add_argument("--fold", type=int, default=1,
                        help="dfew/mafw: the set (1..5) whose test videos form the test split (default 1); "
                        "dfer-clip: which set_<N> files to look for")
    parser.add_argument("--class-order", default=None,
                        help="dfew | mafw | alphabetical | comma list: order of classes.json; "
                        "for dfer-clip, the class of each 0-based label index (default dfew)")
    parser.add_argument("--classes", default=None,
                        help="comma list of allowed class names (csv, folder, dfer-clip); "
                        "labels outside it are problems")
    parser.add_argument("--skip-bad", action="store_true",
                        help="write the good videos and RUN/quarantine.csv instead of failing")
    parser.add_argument("--csv", default=None, help="csv: the label file (default <root>/labels.csv)")
    parser.add_argument("--train", default=None, help="dfer-clip: train annotation txt")
    parser.add_argument("--val", default=None, help="dfer-clip: val annotation txt")
    parser.add_argument("--test", default=None, help="dfer-clip: test annotation txt")
    parser.add_argument("--strip-prefix", default=None,
                        help="dfer-clip: drop this prefix from absolute paths (written on another machine)")
    parser.add_argument("--label-base", type=int, choices=(0, 1), default=0,
                        help="dfer-clip: the number of the first class, 0 (default) or 1 for 1-indexed files")
    parser.add_argument("--check", choices=("header", "full"), default="header",
                        help="header: open each video and decode its first frame (fast, default); "
                        "full: decode every frame (slow, also catches damage later in a file)")
    parser.add_argument("--workers", type=int, default=4, help="threads that probe videos (default 4)")


def run(args):
    from curation.data.ingest import IngestConfig, ingest

    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    config = IngestConfig(
        format=args.format, root=args.root, fold=args.fold, class_order=args.class_order,
        classes=classes, skip_bad=args.skip_bad, csv=args.csv, train=args.train, val=args.val,
        test=args.test, strip_prefix=args.strip_prefix, label_base=args.label_base, check=args.check, workers=args.workers,
    )
    result = ingest(args.out, config, progress=True)
    df = result.manifest.df
    counts = ", ".join(f"{s} {int((df['split'] == s).sum())}" for s in ("train", "val", "test"))
    print(f"ingested {len(df)} videos ({counts}), {len(result.manifest.classes)} classes: "
          f"{', '.join(result.manifest.classes)}")
    print(f"wrote {args.out}/manifest.parquet and {args.out}/classes.json")
    if len(result.problems):
        rows = int((result.quarantine["row"] != "all").sum())
        files = len(result.quarantine) - rows
        unread = f" and {files} unreadable file(s)" if files else ""
        print(f"{len(result.problems)} problem(s); {rows} video(s){unread} quarantined in "
              f"{args.out}/quarantine.csv (problems table: {args.out}/ingest_problems.csv)")
    for note in result.notes:
        print(f"note: {note}")
    print(f"next: dfer-curate train {args.out}")
    return 0
